"""The one plain-text formatter every bot text goes through, and option picking.

SMS shows markup literally, so `plain_text` strips markdown and HTML from every
reply. Options are written into the same message as "Reply 1 for X, 2 for Y or 3
for Z." and `resolve_choice` reads the customer's answer back ("2", "the second",
"10am") into the option's payload. Dates and times are formatted by hand, not with
`strftime`, so the text never depends on the server's locale.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = tuple("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())


@dataclass(frozen=True)
class Option:
    """One numbered choice put to the customer."""

    title: str  # what the customer sees, e.g. "9:00am"
    payload: str  # what a pick of this option means, e.g. an ISO datetime


# --- plain text --------------------------------------------------------------

_TAG = re.compile(r"<[a-zA-Z/][^>]*>")
_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:br|p|div|li|ul|ol|tr|h[1-6])\b[^>]*>", re.I)
_HEADING = re.compile(r"^[ \t]*#+[ \t]*", re.M)
_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]*)+", re.M)
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+")
_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)]*)\)")
_STAR_EM = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_UNDER_EM = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_SPACES = re.compile(r"\s+")


def _link(match: re.Match[str]) -> str:
    label, url = match.group(1).strip(), match.group(2).strip()
    if label and url and label != url:
        return f"{label} ({url})"
    return label or url


def _join_lines(text: str) -> str:
    """Lines become one sentence flow: "We offer", "- a", "- b" -> "We offer: a, b."."""
    lines = [line.rstrip() for line in text.split("\n") if line.strip()]
    bullet = [bool(_BULLET.match(line)) for line in lines]
    out = []
    for i, line in enumerate(lines):
        item = _BULLET.sub("", line) if bullet[i] else line
        if i + 1 < len(lines) and not item.endswith(tuple(".,;:!?")):
            if bullet[i + 1]:
                item += "," if bullet[i] else ":"
            elif bullet[i] or lines[i + 1].lstrip()[:1].isupper():
                item += "."
        out.append(item)
    return "\n".join(out)


def _one_pass(text: str) -> str:
    text = _BLOCK_TAG.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    text = _HEADING.sub("", text)
    text = _QUOTE.sub("", text)
    text = _join_lines(text)
    text = _LINK.sub(_link, text)
    text = text.replace("**", "").replace("__", "").replace("`", "")
    text = _STAR_EM.sub(r"\1", text)
    text = _UNDER_EM.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def plain_text(text: str) -> str:
    """SMS has no markup: markdown and HTML become plain words on one line.

    Passes repeat until nothing changes (unescaping "&lt;b&gt;" makes a tag, removing
    one marker can expose another), which is also what makes the result idempotent.
    Every pass that changes the text shortens it or only normalises whitespace, so
    the loop ends; the bound is a guard.
    """
    for _ in range(len(text) + 2):
        cleaned = _one_pass(text)
        if cleaned == text:
            break
        text = cleaned
    return text


# --- options -----------------------------------------------------------------


def with_options(text: str, options: Sequence[Option]) -> str:
    """The numbered choices go in the same message, so one SMS is one question."""
    if not options:
        return text
    listing = join_words([f"{k} for {o.title}" for k, o in enumerate(options, 1)], "or")
    text = text.strip()
    if not text:
        return f"Reply {listing}."
    if not text.endswith(tuple(".!?:")):
        text += "."
    return f"{text} Reply {listing}."


_NUMBER_WORDS = tuple("one two three four five six seven eight nine".split())
_ORDINAL_WORDS = tuple(
    "first second third fourth fifth sixth seventh eighth ninth".split()
)
_LEAD = re.compile(
    r"^(?:(?:ok(?:ay)?|sure|yes|yeah|yep|please|pls|i'?ll take|i'?ll do|i'?d like|"
    r"let'?s do|let'?s go with|go with|take|pick|i choose|choose|number|num|option|"
    r"opt|choice|the)\b\s*|#\s*)+"
)
_TRAIL = re.compile(
    r"(?:\s+(?:one|option|please|pls|plz|thanks|thank you|thx|ty|works|is good|"
    r"is fine|is perfect|for me))+$"
)
_NEGATION = re.compile(r"\b(?:no|not|nope|nah|dont|don't|never)\b")
_CLOCK = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\b\.?")


def _normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'")
    text = _CLOCK.sub(lambda m: f"{int(m[1])}:{m[2] or '00'}{m[3]}m", text)
    text = re.sub(r"[^\w:#'\s]", " ", text)
    return _SPACES.sub(" ", text).strip()


def _number_pick(text: str) -> int | None:
    text = _TRAIL.sub("", _LEAD.sub("", text)).strip()
    if text == "last":
        return -1
    if match := re.fullmatch(r"(\d{1,3})(?:st|nd|rd|th)?", text):
        return int(match[1])
    for words in (_NUMBER_WORDS, _ORDINAL_WORDS):
        if text in words:
            return words.index(text) + 1
    return None


def _contains(words: list[str], part: list[str]) -> bool:
    n = len(part)
    return n > 0 and any(words[i : i + n] == part for i in range(len(words) - n + 1))


def resolve_choice(reply: str, options: Sequence[Option]) -> str | None:
    """The payload of the option the reply picks, or None if it picks none.

    A number ("2", "#2", "option 2", "two", "the second", "2nd one", "last") picks
    by position; out of range is no pick. Otherwise the reply must name exactly one
    option's title ("10am" for "Thu Mar 5 10:00am", "cleaning"). A reply with a
    negation ("no 2", "not 10am") is never a pick: "no" means the customer declines.
    """
    text = _normalise(reply)
    if not text or not options or _NEGATION.search(text):
        return None
    number = _number_pick(text)
    if number is not None:
        if number == -1:
            return options[-1].payload
        return options[number - 1].payload if 1 <= number <= len(options) else None
    if re.fullmatch(r"[\d\s#]+", text):
        return None
    core = _TRAIL.sub("", _LEAD.sub("", text)).strip() or text
    if len(core) < 3 and not any(ch.isdigit() for ch in core):
        return None
    said, words = text.split(), core.split()
    loose = not re.search(r"\d[ap]m\b", core)  # "11:15" may name "11:15am"
    matches = []
    for option in options:
        title = _normalise(option.title).split()
        no_meridiem = [re.sub(r"(?<=\d)[ap]m$", "", w) for w in title]
        if (
            _contains(title, words)
            or _contains(said, title)
            or (loose and _contains(no_meridiem, words))
        ):
            matches.append(option)
    payloads = {o.payload for o in matches}
    return matches[0].payload if len(payloads) == 1 else None


# --- dates, times, money, lists ----------------------------------------------


def format_time(t: time | datetime) -> str:
    """ "9:00am", "12:00pm": the wall-clock time as written, no conversion."""
    hour = t.hour % 12 or 12
    return f"{hour}:{t.minute:02d}{'am' if t.hour < 12 else 'pm'}"


def format_day(d: date) -> str:
    """ "Thu Mar 5": short enough for SMS, unambiguous under MDY and DMY."""
    return f"{_WEEKDAYS[d.weekday()]} {_MONTHS[d.month - 1]} {d.day}"


def format_when(dt: datetime) -> str:
    """ "Thu Mar 5, 11:15am" in dt's own zone (callers pass business-zone times)."""
    return f"{format_day(dt.date())}, {format_time(dt)}"


def format_money(amount: int) -> str:
    """ "$120"; prices in the business file are whole dollars."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,}"


def join_words(items: Sequence[str], conj: str = "and") -> str:
    """ "a", "a and b", "a, b and c" (no serial comma, it reads as one more item)."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"
