"""Free appointment slots: opening hours, the grid, the diary. Pure, no I/O.

Slots are wall-clock starts on the grid; durations, overlaps and notice are
computed in UTC, so a DST change never stretches or shrinks an appointment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from actions.business import Business, Service
from actions.dates import WhenRequest


@dataclass(frozen=True)
class Booked:
    start: datetime
    end: datetime


# --- parsing -----------------------------------------------------------------


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(timezone.utc)


def _exists(local: datetime) -> bool:
    """False for wall times skipped by a spring-forward change (2:30am)."""
    back = _utc(local).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def slot_problem(
    start: datetime,
    service: Service,
    business: Business,
    booked: Sequence[Booked],
    now: datetime,
) -> str | None:
    """Why `start` cannot be booked, most useful reason first; None if it can."""
    local = start.astimezone(business.timezone)
    begin, end = _utc(start), _utc(start) + service.duration
    hours = business.hours_on(local.date())
    if begin <= _utc(now):
        return "past"
    if local.date() > now.astimezone(business.timezone).date() + timedelta(
        days=business.horizon_days
    ):
        return "too_far"
    if hours is None:
        return "closed"
    opens = datetime.combine(local.date(), hours.opens, tzinfo=business.timezone)
    closes = datetime.combine(local.date(), hours.closes, tzinfo=business.timezone)
    if begin < _utc(opens) or end > _utc(closes):
        return "outside_hours"
    minutes = local.hour * 60 + local.minute
    if (
        minutes % business.slot_interval_minutes
        or local.second
        or local.microsecond
        or not _exists(local)
    ):
        return "off_grid"
    if begin - _utc(now) < timedelta(minutes=business.min_notice_minutes):
        return "too_soon"
    if any(begin < _utc(b.end) and _utc(b.start) < end for b in booked):
        return "taken"
    return None


def free_slots(
    day: date,
    service: Service,
    business: Business,
    booked: Sequence[Booked],
    now: datetime,
    window: tuple[time, time] | None = None,
) -> list[datetime]:
    """Every bookable grid start that day, in order; a window bounds the start."""
    hours, tz = business.hours_on(day), business.timezone
    if hours is None:
        return []
    lo, hi = window or (hours.opens, hours.closes)
    lo, hi = max(lo, hours.opens), min(hi, hours.closes)
    midnight = _utc(datetime.combine(day, time(0), tzinfo=tz))
    tomorrow = _utc(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz))
    todays = [b for b in booked if _utc(b.start) < tomorrow and _utc(b.end) > midnight]
    step = business.slot_interval_minutes
    first = -(-(lo.hour * 60 + lo.minute) // step) * step  # the grid, from `lo` up
    starts = (
        datetime.combine(day, time(m // 60, m % 60), tzinfo=tz)
        for m in range(first, hi.hour * 60 + hi.minute, step)
    )
    return [
        s for s in starts if slot_problem(s, service, business, todays, now) is None
    ]


def _first_each(
    days: Sequence[date],
    args: tuple[Service, Business, Sequence[Booked], datetime],
    window: tuple[time, time] | None,
    limit: int,
) -> list[datetime]:
    """The first free start of each day, until `limit` are found."""
    found: list[datetime] = []
    for day in days:
        found += free_slots(day, *args, window)[:1]
        if len(found) >= limit:
            break
    return found


def _spread(starts: list[datetime], limit: int) -> list[datetime]:
    """First, last, then whichever is farthest from those chosen: times that differ."""
    if len(starts) <= limit or limit < 2:
        return starts[:limit]
    chosen = [starts[0], starts[-1]]
    while len(chosen) < limit:
        rest = [s for s in starts if s not in chosen]
        chosen.append(max(rest, key=lambda s: min(abs(s - c) for c in chosen)))
    return sorted(chosen, key=_utc)


def _days_around(day: date, now: datetime, business: Business) -> list[date]:
    """Bookable days (today to the horizon) by distance from `day`, later first."""
    first = now.astimezone(business.timezone).date()
    last = first + timedelta(days=business.horizon_days)
    day = min(max(day, first), last)
    span = range((last - first).days + 1)
    near = [day + timedelta(k * sign) for k in span for sign in (1, -1)]
    return [d for d in dict.fromkeys(near) if first <= d <= last]


def nearby_alternatives(
    start: datetime,
    service: Service,
    business: Business,
    booked: Sequence[Booked],
    now: datetime,
    limit: int = 3,
) -> list[datetime]:
    """Free starts nearest `start`: that day first, then one a day after and before.

    That day, nearest means the closest in time; on other days the closest time of
    day, so a full Tuesday 3pm offers Wednesday 3pm rather than Wednesday 8am.
    """
    local = start.astimezone(business.timezone)
    wanted = local.hour * 60 + local.minute
    chosen: list[datetime] = []
    for day in _days_around(local.date(), now, business):
        free = [
            s for s in free_slots(day, service, business, booked, now) if s != local
        ]
        if day == local.date():
            chosen += sorted(free, key=lambda s: abs(_utc(s) - _utc(local)))[:limit]
        elif free:
            chosen.append(min(free, key=lambda s: abs(s.hour * 60 + s.minute - wanted)))
        if len(chosen) >= limit:
            break
    return sorted(chosen, key=_utc)


def options_for(
    request: WhenRequest,
    service: Service,
    business: Business,
    booked: Sequence[Booked],
    now: datetime,
    limit: int = 3,
) -> list[datetime]:
    """Up to `limit` free starts to offer for a request; empty only if nothing is free.

    An exact time: itself if free, else the nearest free ones (for a range, that
    time on each day). A day: starts spread over it (or the window), else the first
    free start of each following open day. A range: each day's first free start.
    A window alone: spread over the soonest day that has it free.
    """
    args = (service, business, booked, now)
    tz, window = business.timezone, request.window
    if request.at is not None:
        start = resolve_start(request, None, now, tz)
        days = request.days or ((start.date(),) if start else ())
        starts = [datetime.combine(d, request.at, tzinfo=tz) for d in days]
        free = [s for s in starts if slot_problem(s, *args) is None]
        return free[:limit] or nearby_alternatives(starts[0], *args, limit=limit)
    today = now.astimezone(tz).date()
    if request.day is None and not request.days:
        for day in _days_around(today, now, business):
            if free := free_slots(day, *args, window):
                return _spread(free, limit)
        return []
    if request.day is not None:
        found = _spread(free_slots(request.day, *args, window), limit)
    else:
        found = _first_each(request.days or (), args, window, limit)
    if found:
        return found
    after = max(request.day or max(request.days or (today,)), today - timedelta(1))
    following = [d for d in _days_around(after, now, business) if d > after]
    for win in dict.fromkeys((window, None)):  # the window if it can, else any time
        if found := _first_each(following, args, win, limit):
            return found
    noon = datetime.combine(after, time(12), tzinfo=tz)
    return nearby_alternatives(noon, *args, limit=limit)


def resolve_start(
    request: WhenRequest, current: datetime | None, now: datetime, tz: tzinfo
) -> datetime | None:
    """The exact start a request names; a time alone keeps the current day."""
    if request.at is None or request.days:
        return None
    day = request.day
    if day is None and current is not None:
        day = current.astimezone(tz).date()
    if day is None:
        today = now.astimezone(tz).date()
        later = _utc(datetime.combine(today, request.at, tzinfo=tz)) > _utc(now)
        day = today if later else today + timedelta(days=1)
    return datetime.combine(day, request.at, tzinfo=tz)


def within_cancellation_window(
    start: datetime, now: datetime, business: Business
) -> bool:
    """True when `start` is less than the notice period away (or already past)."""
    notice = timedelta(hours=business.cancellation_notice_hours)
    return _utc(start) - _utc(now) < notice
