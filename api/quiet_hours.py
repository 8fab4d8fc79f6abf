"""When the business may text: a daily window in its own time zone.

Texting a customer at 2am is what gets a number reported; the window is checked
for every business-started text (the API, reminders), never for replies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class SendWindow:
    opens: time
    closes: time

    @classmethod
    def parse(cls, text: str) -> SendWindow:
        """ "08:00-21:00"; a window past midnight ("20:00-02:00") is allowed."""
        match = _WINDOW.match(text)
        if not match:
            raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"not a time of day in {text!r}")
        closes = time.max if h2 == 24 else time(h2, m2)
        if time(h1, m1) == closes:
            raise ValueError(f"the window {text!r} is empty")
        return cls(time(h1, m1), closes)

    def allows(self, now: datetime) -> bool:
        """`now` in the business's time zone."""
        at = now.time().replace(tzinfo=None)
        if self.opens < self.closes:
            return self.opens <= at < self.closes
        return at >= self.opens or at < self.closes

    def next_open(self, now: datetime) -> datetime:
        """`now` if allowed, else when the window next opens (same time zone)."""
        if self.allows(now):
            return now
        opening = now.replace(
            hour=self.opens.hour, minute=self.opens.minute, second=0, microsecond=0
        )
        if opening <= now:
            opening = _same_wall_time_next_day(opening)
        return opening

    def __str__(self) -> str:
        closes = "24:00" if self.closes == time.max else self.closes.strftime("%H:%M")
        return f"{self.opens.strftime('%H:%M')}-{closes}"


def _same_wall_time_next_day(moment: datetime) -> datetime:
    """08:00 tomorrow is 08:00 on the wall clock, across a DST change too."""
    nxt = (moment.replace(tzinfo=None) + timedelta(days=1)).replace(
        tzinfo=moment.tzinfo
    )
    return nxt
