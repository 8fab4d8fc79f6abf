"""Dates, times and money as the replies write them.

Formatted by hand, not with `strftime`, so the text never depends on the server's
locale. Plain text and numbered options are in replytext/, shared with the channel.
"""

from __future__ import annotations

from datetime import date, datetime, time

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = tuple("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())


# --- dates, times, money ------------------------------------------------------


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


def with_article(name: str) -> str:
    """ "a cleaning", "an emergency visit", "highlights": a service as a sentence
    names it; the business file holds bare names."""
    if name.endswith("s") and not name.endswith("ss"):
        return name  # plural: "You have highlights on Fri"
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
