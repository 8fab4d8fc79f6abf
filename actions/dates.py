"""Free-text dates and times from SMS: pure, no clock (callers pass `now`).

Why a small hand-written parser and not `dateparser`: SMS shorthand is where
general date libraries go wrong. They read a bare "2" (an option pick) as the 2nd
of the month, cannot know that "at 3" at a clinic means 3pm or that "fri after 2"
is a window, and their answers shift with settings and language data. The
patterns below cover what customers send ("tmrw 3", "thurs morning", "12/3 2pm",
"the 15th at noon"), so text naming no date or time ("sam lee", "2") is None.
Misspelt day and month names are corrected with difflib first.

Rules:
* A bare hour is am or pm as the business is open ("at 7" is 7pm at a salon open
  until 9pm); where both or neither are open, 1-6 is pm, 7-11 am, 12 noon;
  "evening at 7" is pm, "morning at 6" am. A bare number is a time only after a day ("tmrw 3"), at/@/around/about/
  make it, or with ":mm", "o'clock" or "ish"; alone ("2") it is an option pick,
  as are ordinals 1st-9th unless "on the 2nd" or a time comes with them.
* What follows "not", "instead of" or "rather than" is ignored ("2pm instead of
  3pm"); of several days named, the last counts ("move tue to thu").
* A weekday ("tue", "next tue") is the nearest such day after today; it is today
  only if "next" is not said and the time or part of day given is still ahead
  ("thu" alone on a Thursday is next week's).
* A date without a year that has passed this year is next year's; "12/3" follows
  `date_order` unless only the other reading is a valid date.
* A window bounds the start: from <= start < until. "after 2" is 14:00-23:59, cut
  to closing time by the opening hours.
* A range ("next week" Mon-Sun, "this week", "weekend", "asap" = 14 days) is
  returned in `WhenRequest.days`, with `day` None.

Slots are wall-clock starts on the grid; durations, overlaps and notice are
computed in UTC, so a DST change never stretches or shrinks an appointment.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

MORNING = (time(8), time(12))
AFTERNOON = (time(12), time(17))
EVENING = (time(17), time(21))
LUNCH = (time(12), time(14))
UNTIL_CLOSE = time(23, 59)
ASAP_DAYS = 14


@dataclass(frozen=True)
class WhenRequest:
    """What the customer asked for: a day and/or a time, a window, or a range.

    (day, None, None) is any time that day. `days` is a range ("next week") in
    which any day will do; `day` is then None.
    """

    day: date | None
    at: time | None
    window: tuple[time, time] | None
    days: tuple[date, ...] | None = None


_DAY_NAMES = "mon monday|tue tues tuesday|wed weds wednesday|thu thur thurs thursday|"
_DAY_NAMES += "fri friday|sat saturday|sun sunday"
_WEEKDAY = {
    word: i
    for i, names in enumerate(_DAY_NAMES.split("|"))
    for word in (*names.split(), names.split()[-1] + "s")
}
_MONTH_NAMES = "jan january|feb february|mar march|apr april|may|jun june|jul july|"
_MONTH_NAMES += "aug august|sep sept september|oct october|nov november|dec december"
_MONTH = {w: i for i, ns in enumerate(_MONTH_NAMES.split("|"), 1) for w in ns.split()}
_CANON = [w for w in (*_WEEKDAY, *_MONTH) if len(w) > 4 and not w.endswith("ys")]
_CANON += ["tomorrow", "yesterday", "morning", "afternoon", "evening", "tonight"]
_COUNT = {w: i for i, w in enumerate("zero one two three four five six seven".split())}
_COUNT |= {"a": 1, "an": 1}

_TOMORROW = r"(?:to?mm?or+o?w*|tm+r+o?w*|tmw|2m+or+o?w*|2mrw|tomm)"
_DAYS = "|".join(sorted(_WEEKDAY, key=len, reverse=True))
_MONTHS = "|".join(sorted(_MONTH, key=len, reverse=True))
_NOT_TIME = (
    r"(?!\s*(?:st|nd|rd|th|/|days?|weeks?|months?|mins?|minutes?|hours?|hrs?)\b)"
)


def _t(p: str) -> str:
    """An hour, optional minutes and am/pm, as named groups {p}h, {p}m, {p}x."""
    return rf"(?P<{p}h>\d{{1,2}})(?:[:.](?P<{p}m>\d{{2}}))?(?:\s*(?P<{p}x>am|pm)\b)?"


_NEGATED = re.compile(
    rf"\b(?:instead\s+of|rather\s+than|not)\s+(?:at\s+|on\s+)?"
    rf"(?:(?:(?:next|this)\s+)?(?:{_DAYS}|today|{_TOMORROW})\b|{_t('a')}{_NOT_TIME})"
)
_RELATIVE = re.compile(
    rf"\b(?:(?:the\s+)?day\s+after\s+{_TOMORROW}|{_TOMORROW}|today|tdy|2day|tonight|"
    r"tonite|2nite|yesterday|yday|this(?=\s+(?:morn|aft|eve)))\b"
)
_IN_DAYS = re.compile(rf"\bin\s+(\d{{1,2}}|{'|'.join(_COUNT)})\s+(day|week)s?\b")
_NUMERIC_DATE = re.compile(
    r"(?<![\d/:.$-])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])"
    r"|(?<![\d/:.$-])(\d{1,2})-(\d{1,2})-(\d{4}|\d{2})(?![\d-])"
)
_MONTH_DATE = re.compile(
    rf"\b(?:{_MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b"
    rf"(?!\s*(?:am|pm|:))|(?<!at\s)(?<!@\s)(?<!@)\b(\d{{1,2}})(?:st|nd|rd|th)?\s+"
    rf"(?:of\s+)?(?:{_MONTHS})\b"
    r"\.?(?:,?\s+(\d{4}))?"
)
_RANGE = re.compile(
    rf"\b(?:between|btwn|from)\s+{_t('a')}\s*(?:and|to|-|&)\s*{_t('b')}"
    rf"|(?<![\d/:.])\b{_t('c')}\s*(?:-|to)\s*(?P<dh>\d{{1,2}})(?:[:.](?P<dm>\d{{2}}))?"
    r"\s*(?P<dx>am|pm)\b"
)
_BOUND = re.compile(
    r"\b(?P<dir>after|aftr|afta|later\s+than|before|b4|by|earlier\s+than)\s+"
    rf"(?:(?P<meal>noon|midday|lunch(?:time)?)\b|{_t('a')}{_NOT_TIME})"
)
_CLOCK = re.compile(
    r"\b(?:12\s+)?(?P<noon>noon|midday|midnight)\b"
    r"|(?P<pre>\b(?:at|around|about|abt|arnd|make\s+it)\s*|@\s*)?(?<![\d/:.$])"
    rf"{_t('a')}(?P<oc>\s*(?:o'?clock|ish)\b)?(?![\d/:]){_NOT_TIME}"
)
_ORDINAL = re.compile(r"\b(on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b")
_PART_OF_DAY = re.compile(
    r"\b(?:early\s+|late\s+|in\s+the\s+)?"
    r"(morn(?:ing|in)?|afternoon|aftn|arvo|evening|eve|night|nite|lunch(?:time)?)s?\b"
)
_WEEK = re.compile(r"\b(this|next|the)\s+(week(?:end)?|wk)\b|\b(weekend)\b")
_WEEKDAY_RE = re.compile(rf"(?<!')\b(?:(next|this|coming)\s+)?({_DAYS})\b\.?")
_DAY_THEN_HOUR = re.compile(
    rf"\b({_DAYS}|today|tonight|{_TOMORROW}|\d{{1,2}}/\d{{1,2}})\s+"
    r"(?=\d{1,2}\b(?![/:.])(?!\s*[a-z]{3,}))"
)
_ASAP = re.compile(r"\b(?:asap|soonest|earliest|first\s+available|next\s+available)\b")


class _Scan:
    """The text, each phrase blanked out once read so no number counts twice."""

    def __init__(self, text: str) -> None:
        self.text = f" {text} "

    def take(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        found = list(pattern.finditer(self.text))
        for m in found:
            blank = " " * (m.end() - m.start())
            self.text = self.text[: m.start()] + blank + self.text[m.end() :]
        return found


def _normalise(text: str) -> str:
    """Lower case, "3p"/"3 p.m." -> "3pm", misspelt day and month names fixed."""
    text = re.sub(r"\s+", " ", text.lower().replace("\u2019", "'"))
    text = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text)
    text = re.sub(r"(?<=\d)([ap])\b", r"\1m", text)

    def fix(m: re.Match[str]) -> str:
        if m[0] in _WEEKDAY or m[0] in _MONTH or m[0] == "night":
            return m[0]
        return next(iter(difflib.get_close_matches(m[0], _CANON, 1, 0.8)), m[0])

    text = re.sub(r"(?<!')\b[a-z]{5,}\b", fix, text)
    return _DAY_THEN_HOUR.sub(r"\1 at ", text)  # "tmrw 3" reads as "tmrw at 3"


def _clock(h: str, m: str | None, x: str | None) -> tuple[time, bool] | None:
    """The time, and whether its am/pm was guessed (bare-hour rule); None if invalid."""
    hour, minute = int(h), int(m or 0)
    if minute > 59 or hour > 23 or (x and not 1 <= hour <= 12):
        return None
    if x:
        return time(hour % 12 + (12 if x == "pm" else 0), minute), False
    if not 1 <= hour <= 12:
        return time(hour, minute), False  # 0:30, 14:00: a 24-hour clock
    return time(hour + 12 if hour <= 6 else hour, minute), True


def _fit(
    clock: tuple[time, bool],
    window: tuple[time, time] | None,
    open_spans: Sequence[tuple[time, time]] = (),
) -> time:
    """A guessed am/pm follows the part of day ("evening at 7" is 7pm), else the
    opening hours: of "7am" and "7pm", the one the business is open at (a salon
    open until 9pm reads "at 7" as 7pm, a clinic open 8-6 as the bare-hour rule)."""
    t, guessed = clock
    if not guessed:
        return t
    if window and window[0] >= time(12) and t.hour < 12:
        return t.replace(hour=t.hour + 12)
    if window and window[1] <= time(12) and t.hour > 12:
        return t.replace(hour=t.hour - 12)
    if window or t.hour == 12:
        return t
    am = t.replace(hour=t.hour % 12)
    pm = am.replace(hour=am.hour + 12)
    open_at = [any(o <= c < e for o, e in open_spans) for c in (am, pm)]
    if open_at == [True, False]:
        return am
    if open_at == [False, True]:
        return pm
    return t


def _dated(year: int | None, month: int, day: int, today: date) -> date | None:
    """A calendar date; without a year, the next one on or after today."""
    for y in [year] if year else [today.year, today.year + 1]:
        try:
            found = date(y, month, day)
        except ValueError:
            continue
        if year or found >= today:
            return found
    return None


def _numeric_date(m: re.Match[str], today: date, order: str) -> date | None:
    a, b, y = m.groups()[:3] if m[1] else m.groups()[3:]
    year = int(y) + (2000 if len(y) == 2 else 0) if y else None
    month, day = (int(a), int(b)) if order == "MDY" else (int(b), int(a))
    return _dated(year, month, day, today) or _dated(year, day, month, today)


def _ordinal_day(n: int, today: date) -> date | None:
    """ "the 15th": this month's if still ahead, else the next month that has one."""
    year, month = today.year, today.month
    for _ in range(4):
        found = _dated(year, month, n, today)
        if found and found >= today:
            return found
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _range(m: re.Match[str]) -> tuple[time, time] | None:
    lo, hi = ("a", "b") if m["ah"] else ("c", "d")
    end = _clock(m[f"{hi}h"], m[f"{hi}m"], m[f"{hi}x"])
    same_half = int(m[f"{lo}h"]) <= int(m[f"{hi}h"])
    x = m[f"{lo}x"] or (m[f"{hi}x"] if same_half else None)
    start = _clock(m[f"{lo}h"], m[f"{lo}m"], x)
    return (start[0], end[0]) if start and end and start[0] < end[0] else None


def _bound(m: re.Match[str]) -> tuple[time, time] | None:
    after = m["dir"][0] in "al"
    if m["meal"]:
        t = time(13) if after and m["meal"][0] == "l" else time(12)
    else:
        clock = _clock(m["ah"], m["am"], m["ax"])
        if clock is None:
            return None
        t = clock[0]
    return (t, UNTIL_CLOSE) if after else (time(0), t)


def _clock_of(m: re.Match[str]) -> tuple[time, bool] | None:
    if m["noon"]:
        return (time(0) if m["noon"] == "midnight" else time(12)), False
    colon = m[0].find(":") >= 0
    if not (m["ax"] or m["pre"] or m["oc"] or colon):
        return None  # a bare number is an option pick or a count, not a time
    return _clock(m["ah"], m["am"], m["ax"])


def _week(m: re.Match[str], today: date) -> tuple[date, ...] | None:
    monday = today - timedelta(days=today.weekday() - (7 if m[1] == "next" else 0))
    span = range(7) if (m[2] or m[3]) in ("week", "wk") else range(5, 7)
    return tuple(d for i in span if (d := monday + timedelta(i)) >= today) or None


def parse_when(
    text: str,
    now: datetime,
    date_order: str = "MDY",
    hours: Mapping[int, tuple[time, time]] | None = None,
) -> WhenRequest | None:
    """Read a day, time, window or range from an SMS; None if it names none.

    `hours`: opening hours by weekday (Monday 0), which settle a bare hour's am
    or pm (on the day asked for, else on any day)."""
    today = now.date()
    s = _Scan(_normalise(text))
    s.take(_NEGATED)  # what they do NOT want: "2pm instead of 3pm", "not tue"
    day: date | None = None
    window: tuple[time, time] | None = None
    for m in s.take(_RELATIVE):
        word = m[0]
        offset = 2 if "after" in word else -1 if word[0] == "y" else 0
        offset = 1 if re.fullmatch(_TOMORROW, word) else offset
        day, window = today + timedelta(offset), EVENING if "ni" in word else window
    for m in s.take(_IN_DAYS):
        n = int(m[1]) if m[1].isdigit() else _COUNT[m[1]]
        day = today + timedelta(days=n * (7 if m[2] == "week" else 1))
    for m in s.take(_NUMERIC_DATE):
        day = _numeric_date(m, today, date_order) or day
    for m in s.take(_MONTH_DATE):
        month = next(_MONTH[w] for w in re.findall(r"[a-z]+", m[0]) if w in _MONTH)
        year = m[2] or m[4]
        day = (
            _dated(int(year) if year else None, month, int(m[1] or m[3]), today) or day
        )
    for m in s.take(_RANGE):
        window = _range(m) or window
    for m in s.take(_BOUND):
        window = _bound(m) or window
    clock = next(filter(None, map(_clock_of, s.take(_CLOCK))), None)
    for m in s.take(_PART_OF_DAY):
        part = {"m": MORNING, "e": EVENING, "n": EVENING, "l": LUNCH}.get(m[1][0])
        window = window or part or AFTERNOON
    for m in s.take(_ORDINAL):
        if m[1] or int(m[2]) > 9 or clock or window:
            day = _ordinal_day(int(m[2]), today) or day
    week = s.take(_WEEK)
    days = _week(week[-1], today) if week else None
    weekday = s.take(_WEEKDAY_RE)
    if weekday and day is None:
        target = _WEEKDAY[weekday[-1][2]]
        day = next((d for d in days or () if d.weekday() == target), None)
        ahead = clock[0] if clock else window[1] if window else None
        later = ahead is not None and datetime.combine(today, ahead, now.tzinfo) > now
        today_ok = later and weekday[-1][1] != "next"
        gap = (target - today.weekday()) % 7 or (0 if today_ok else 7)
        day = day or today + timedelta(days=gap)
    if s.take(_ASAP) and not days:
        days = tuple(today + timedelta(days=i) for i in range(ASAP_DAYS))
    spans = list((hours or {}).values())
    if hours and day is not None and day.weekday() in hours:
        spans = [hours[day.weekday()]]
    at = _fit(clock, window, spans) if clock else None
    if day is None and days is None and at is None and window is None:
        return None
    return WhenRequest(day, at, None if at else window, None if day else days)


# --- slots -------------------------------------------------------------------
