"""The business file (`actions/business.yml`), loaded once and typed.

Every business fact an action or reply uses comes from here, so adapting the
assistant to another business is editing that one file plus NLU examples.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from actions import config

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class BusinessFileError(ValueError):
    """The business file is missing a fact or has one in the wrong form."""


@dataclass(frozen=True)
class Service:
    key: str
    name: str
    duration_minutes: int
    price: int

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True)
class OpeningHours:
    opens: time
    closes: time


@dataclass(frozen=True)
class FaqTopic:
    """A question topic the business adds in its file (or rewords): the answer,
    and words that name it in a text of several questions."""

    answer: str
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Business:
    name: str
    timezone: ZoneInfo
    date_order: str
    phone: str
    address: str
    directions: str
    parking: str
    # weekday index (Monday 0) -> hours; a closed day is absent
    hours: dict[int, OpeningHours]
    services: tuple[Service, ...]
    insurance: tuple[str, ...]
    cancellation_notice_hours: int
    cancellation_fee: int
    slot_interval_minutes: int
    min_notice_minutes: int
    horizon_days: int
    #: topic -> answer: topics added in the file, or built-in answers reworded
    faq: dict[str, FaqTopic] = field(default_factory=dict)

    def service(self, key: str) -> Service | None:
        return next((s for s in self.services if s.key == key), None)

    def service_or_first(self, key: str | None) -> Service:
        """The service a form or an appointment names; one no longer offered (the
        business file changed) is priced and timed as the first."""
        return self.service(key or "") or self.services[0]

    def hours_on(self, day: date) -> OpeningHours | None:
        return self.hours.get(day.weekday())

    @property
    def open_spans(self) -> dict[int, tuple[time, time]]:
        """Opening hours by weekday as (opens, closes): what reads a bare hour."""
        return {day: (h.opens, h.closes) for day, h in self.hours.items()}

    def now(self) -> datetime:
        """The current time in the business's zone: every date the customer sees
        (BUSINESS_NOW fixes it, for tests and demos)."""
        if config.FIXED_NOW is not None:
            return config.FIXED_NOW.astimezone(self.timezone)
        return datetime.now(self.timezone)


#: Every key the file may hold: a misspelt optional key is a problem, not a
#: default taken in silence. True: required.
TOP_KEYS = {
    "name": True,
    "timezone": True,
    "date_order": False,
    "phone": True,
    "address": True,
    "directions": False,
    "parking": False,
    "hours": True,
    "services": True,
    "insurance": False,
    "cancellation": False,
    "booking": False,
    "faq": False,
}
SERVICE_KEYS = ("key", "name", "duration_minutes", "price")
#: section -> key -> (default, lowest value)
SECTION_KEYS = {
    "cancellation": {"notice_hours": (24, 0), "fee": (0, 0)},
    "booking": {
        "slot_interval_minutes": (15, 1),
        "min_notice_minutes": (60, 0),
        "horizon_days": (90, 1),
    },
}


class _Problems:
    """Every problem in the file, one line each naming its key, so one edit
    fixes them all rather than one per start."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, key: str, problem: str) -> None:
        self.lines.append(f"{key}: {problem}")

    def unknown(self, where: str, found: Any, known: Any) -> None:
        for key in sorted(set(found) - set(known), key=str):
            close = difflib.get_close_matches(str(key), [str(k) for k in known], 1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            self.add(f"{where}{key}", f"unknown key{hint}")

    def text(self, raw: dict[str, Any], key: str, where: str = "") -> str:
        value = raw.get(key)
        if value is None or isinstance(value, (dict, list)) or str(value).strip() == "":
            self.add(where + key, "expected a text" if key in raw else "missing")
            return ""
        return str(value)

    def number(
        self,
        raw: dict[str, Any],
        key: str,
        default: int | None,
        where: str = "",
        low: int = 0,
    ) -> int:
        value = raw.get(key, default)
        if value is None:
            self.add(where + key, "missing")
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.add(
                where + key, f"expected a whole number of at least {low}, got {value!r}"
            )
            return 0
        return value

    def mapping(self, raw: dict[str, Any], key: str) -> dict[str, Any]:
        value = raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(key, "expected a mapping")
            return {}
        return value


def _parse_hours(raw: Any, problems: _Problems) -> dict[int, OpeningHours]:
    if not isinstance(raw, dict):
        problems.add("hours", "expected a mapping of mon..sun to 'HH:MM-HH:MM'")
        return {}
    problems.unknown("hours.", raw, WEEKDAYS)
    hours: dict[int, OpeningHours] = {}
    for index, day in enumerate(WEEKDAYS):
        value = raw.get(day)
        if value in (None, "closed", False):
            continue
        match = _HOURS.match(str(value))
        try:
            if match is None:
                raise ValueError(value)
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            opens, closes = time(h1, m1), time(h2, m2)
        except ValueError:
            problems.add(
                f"hours.{day}", f"expected 'HH:MM-HH:MM' or closed, got {value!r}"
            )
            continue
        if closes <= opens:
            problems.add(f"hours.{day}", "closing time is not after opening")
            continue
        hours[index] = OpeningHours(opens, closes)
    if not hours and not problems.lines:
        problems.add("hours", "open on no day")
    return hours


def _parse_services(raw: Any, problems: _Problems) -> tuple[Service, ...]:
    if not isinstance(raw, list) or not raw:
        problems.add("services", "expected a list of at least one service")
        return ()
    services: list[Service] = []
    for index, entry in enumerate(raw):
        where = f"services[{index}]."
        if not isinstance(entry, dict):
            problems.add(
                where.rstrip("."), "expected key, name, duration_minutes, price"
            )
            continue
        problems.unknown(where, entry, SERVICE_KEYS)
        services.append(
            Service(
                key=problems.text(entry, "key", where),
                name=problems.text(entry, "name", where),
                duration_minutes=problems.number(
                    entry, "duration_minutes", None, where, 1
                ),
                price=problems.number(entry, "price", None, where),
            )
        )
    keys = [s.key for s in services]
    for key in sorted({k for k in keys if keys.count(k) > 1 and k}):
        problems.add("services", f"key {key!r} is used twice")
    return tuple(services)


def _parse_faq(raw: Any, problems: _Problems) -> dict[str, FaqTopic]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add("faq", "expected a mapping of topic to answer and words")
        return {}
    topics: dict[str, FaqTopic] = {}
    for topic, entry in raw.items():
        where = f"faq.{topic}."
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(topic)):
            problems.add(f"faq.{topic}", "a topic is lower case, digits and _")
            continue
        if not isinstance(entry, dict):
            problems.add(f"faq.{topic}", "expected answer (and words)")
            continue
        problems.unknown(where, entry, ("answer", "words"))
        answer = problems.text(entry, "answer", where)
        words = entry.get("words") or []
        if not isinstance(words, list) or not all(
            isinstance(w, str) and w.strip() for w in words
        ):
            problems.add(where + "words", "expected a list of words or phrases")
            words = []
        topics[str(topic)] = FaqTopic(answer, tuple(w.strip().lower() for w in words))
    return topics


def _zone(raw: dict[str, Any], problems: _Problems) -> ZoneInfo:
    name = problems.text(raw, "timezone")
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add("timezone", f"unknown time zone {name!r} (e.g. America/New_York)")
        return ZoneInfo("UTC")


def parse_business(raw: Any) -> Business:
    """Validate the whole file so a typo fails at start-up, not mid-chat: every
    problem at once (BusinessFileError, one line per key)."""
    problems = _Problems()
    if not isinstance(raw, dict):
        raise BusinessFileError(
            "the file: expected a mapping of keys (name, timezone, …)"
        )
    problems.unknown("", raw, TOP_KEYS)
    for key, required in TOP_KEYS.items():
        if required and key not in raw:
            problems.add(key, "missing")
    date_order = str(raw.get("date_order", "MDY")).upper()
    if date_order not in ("MDY", "DMY"):
        problems.add(
            "date_order", f"expected MDY or DMY, got {raw.get('date_order')!r}"
        )
    sections: dict[str, dict[str, int]] = {}
    for section, defaults in SECTION_KEYS.items():
        values = problems.mapping(raw, section)
        problems.unknown(f"{section}.", values, defaults)
        sections[section] = {
            key: problems.number(values, key, default, f"{section}.", low)
            for key, (default, low) in defaults.items()
        }
    insurance = raw.get("insurance") or []
    if not isinstance(insurance, list):
        problems.add("insurance", "expected a list of names")
        insurance = []
    business = Business(
        name=problems.text(raw, "name") if "name" in raw else "",
        timezone=_zone(raw, problems) if "timezone" in raw else ZoneInfo("UTC"),
        date_order=date_order,
        phone=problems.text(raw, "phone") if "phone" in raw else "",
        address=problems.text(raw, "address") if "address" in raw else "",
        directions=str(raw.get("directions") or ""),
        parking=str(raw.get("parking") or ""),
        hours=_parse_hours(raw["hours"], problems) if "hours" in raw else {},
        services=_parse_services(raw["services"], problems)
        if "services" in raw
        else (),
        insurance=tuple(str(i) for i in insurance),
        cancellation_notice_hours=sections["cancellation"]["notice_hours"],
        cancellation_fee=sections["cancellation"]["fee"],
        slot_interval_minutes=sections["booking"]["slot_interval_minutes"] or 15,
        min_notice_minutes=sections["booking"]["min_notice_minutes"],
        horizon_days=sections["booking"]["horizon_days"],
        faq=_parse_faq(raw.get("faq"), problems),
    )
    if problems.lines:
        raise BusinessFileError("\n".join(problems.lines))
    return business


def load_business(path: Path | str | None = None) -> Business:
    """Read and validate the business file (default: BUSINESS_FILE)."""
    path = Path(path or config.BUSINESS_FILE)
    try:
        with path.open(encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except OSError as err:
        raise BusinessFileError(
            f"the file: cannot read {path}: {err.strerror}"
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BusinessFileError(f"the file: not valid YAML{where}") from None
    return parse_business(raw)


def check(path: Path | str | None = None) -> list[str]:
    """The file's problems, one line each (empty: it is fine)."""
    try:
        load_business(path)
    except BusinessFileError as err:
        return str(err).splitlines()
    return []


@functools.lru_cache(maxsize=1)
def business() -> Business:
    """The business file, read once per process."""
    return load_business()
