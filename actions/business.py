"""The business file (`actions/business.yml`), loaded once and typed.

Every business fact an action or reply uses comes from here, so adapting the
assistant to another business is editing that one file plus NLU examples.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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

    def service(self, key: str) -> Service | None:
        return next((s for s in self.services if s.key == key), None)

    def service_or_first(self, key: str | None) -> Service:
        """The service a form or an appointment names; one no longer offered (the
        business file changed) is priced and timed as the first."""
        return self.service(key or "") or self.services[0]

    def hours_on(self, day: date) -> OpeningHours | None:
        return self.hours.get(day.weekday())

    def now(self) -> datetime:
        """The current time in the business's zone: every date the customer sees
        (BUSINESS_NOW fixes it, for tests and demos)."""
        if config.FIXED_NOW is not None:
            return config.FIXED_NOW.astimezone(self.timezone)
        return datetime.now(self.timezone)


def _parse_hours(raw: Any) -> dict[int, OpeningHours]:
    if not isinstance(raw, dict):
        raise BusinessFileError(
            "hours: expected a mapping of mon..sun to 'HH:MM-HH:MM'"
        )
    unknown = set(raw) - set(WEEKDAYS)
    if unknown:
        raise BusinessFileError(f"hours: unknown day(s) {sorted(unknown)}")
    hours: dict[int, OpeningHours] = {}
    for index, day in enumerate(WEEKDAYS):
        value = raw.get(day)
        if value in (None, "closed", False):
            continue
        match = _HOURS.match(str(value))
        if not match:
            raise BusinessFileError(f"hours.{day}: expected 'HH:MM-HH:MM' or closed")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        opens, closes = time(h1, m1), time(h2, m2)
        if closes <= opens:
            raise BusinessFileError(f"hours.{day}: closing time is not after opening")
        hours[index] = OpeningHours(opens, closes)
    return hours


def parse_business(raw: dict[str, Any]) -> Business:
    """Validate the file's content so a typo fails at start-up, not mid-chat."""
    try:
        services = tuple(
            Service(
                key=str(s["key"]),
                name=str(s["name"]),
                duration_minutes=int(s["duration_minutes"]),
                price=int(s["price"]),
            )
            for s in raw["services"]
        )
        booking = raw.get("booking") or {}
        cancellation = raw.get("cancellation") or {}
        date_order = str(raw.get("date_order", "MDY")).upper()
        if date_order not in ("MDY", "DMY"):
            raise BusinessFileError("date_order: expected MDY or DMY")
        if not services:
            raise BusinessFileError("services: at least one service is needed")
        return Business(
            name=str(raw["name"]),
            timezone=ZoneInfo(str(raw["timezone"])),
            date_order=date_order,
            phone=str(raw["phone"]),
            address=str(raw["address"]),
            directions=str(raw.get("directions", "")),
            parking=str(raw.get("parking", "")),
            hours=_parse_hours(raw["hours"]),
            services=services,
            insurance=tuple(str(i) for i in raw.get("insurance") or ()),
            cancellation_notice_hours=int(cancellation.get("notice_hours", 24)),
            cancellation_fee=int(cancellation.get("fee", 0)),
            slot_interval_minutes=int(booking.get("slot_interval_minutes", 15)),
            min_notice_minutes=int(booking.get("min_notice_minutes", 60)),
            horizon_days=int(booking.get("horizon_days", 90)),
        )
    except KeyError as missing:
        raise BusinessFileError(f"missing key {missing}") from None
    except (TypeError, ValueError) as error:
        if isinstance(error, BusinessFileError):
            raise
        raise BusinessFileError(str(error)) from None


def load_business(path: Path | str | None = None) -> Business:
    """Read and validate the business file (default: BUSINESS_FILE)."""
    path = Path(path or config.BUSINESS_FILE)
    with path.open(encoding="utf-8") as handle:
        return parse_business(yaml.safe_load(handle))


@functools.lru_cache(maxsize=1)
def business() -> Business:
    """The business file, read once per process."""
    return load_business()
