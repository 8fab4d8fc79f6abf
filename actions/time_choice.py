"""Turn a customer's answer to "what day and time?" into a free slot or options.

Shared by booking and rescheduling: the reply is an option number from the last
question, or free text ("sat morning", "tomorrow at 3"), checked against opening
hours and the diary in Redis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from actions.appointment_store import Appointment, AppointmentStore
from actions.business import Business, Service
from actions.dates import WhenRequest, parse_when
from actions.formatting import format_day, format_time, format_when, with_article
from actions.replies import options_slot
from actions.scheduling import (
    Booked,
    nearby_alternatives,
    options_for,
    resolve_start,
    slot_problem,
)
from replytext.options import Option, resolve_choice

NOT_UNDERSTOOD = "Sorry, I didn't catch a day and time."


@dataclass(frozen=True)
class TimeChoice:
    """Either an accepted start, or options (and why) to put to the customer."""

    start: datetime | None = None
    options: list[Option] = field(default_factory=list)
    note: str | None = None


def choice_slots(choice: TimeChoice, slot: str) -> dict[str, Any]:
    """Slot values for a form's validation: the start, or the options and why."""
    if choice.start is not None:
        return {slot: choice.start.isoformat(), "offered_options": None}
    return {
        slot: None,
        "offered_options": options_slot(choice.options),
        "booking_note": choice.note,
    }


def slot_options(starts: Sequence[datetime]) -> list[Option]:
    """Titles show the day only when the options span more than one day."""
    one_day = len({s.date() for s in starts}) <= 1
    return [
        Option(
            title=format_time(s) if one_day else format_when(s).replace(",", ""),
            payload=s.isoformat(),
        )
        for s in starts
    ]


def problem_sentence(
    problem: str, start: datetime, biz: Business, service: Service | None = None
) -> str:
    """Why a requested start cannot be booked, in one sentence for the customer."""
    when = format_when(start)
    hours = biz.hours_on(start.date())
    if problem == "outside_hours" and hours and service:
        if hours.opens <= start.time() < hours.closes:  # it starts open, ends late
            return (
                f"Sorry, {with_article(service.name)} at {when} would end after we close "
                f"({format_time(hours.closes)})."
            )
    sentences = {
        "past": f"Sorry, {when} has already passed.",
        "too_soon": f"Sorry, we need at least {biz.min_notice_minutes} minutes' notice.",
        "too_far": f"Sorry, we only book up to {biz.horizon_days} days ahead.",
        "closed": f"Sorry, we're closed on {start.strftime('%A')}s.",
        "outside_hours": (
            f"Sorry, {when} is outside our hours"
            + (
                f" ({format_time(hours.opens)}-{format_time(hours.closes)})."
                if hours
                else "."
            )
        ),
        "off_grid": f"Sorry, {when} isn't a start time we use.",
        "taken": f"Sorry, {when} is taken.",
    }
    return sentences.get(problem, f"Sorry, {when} isn't available.")


async def diary(
    store: AppointmentStore, biz: Business, now: datetime, ignore: Appointment | None
) -> list[Booked]:
    """Everything booked from now to the booking horizon, minus the one being moved."""
    booked = await store.booked_between(
        now - timedelta(hours=12), now + timedelta(days=biz.horizon_days + 1)
    )
    if ignore is None:
        return booked
    return [b for b in booked if (b.start, b.end) != (ignore.start, ignore.end)]


def choose_time(
    text: str,
    offered: Sequence[Option],
    service: Service,
    current: datetime | None,
    booked: Sequence[Booked],
    biz: Business,
    now: datetime,
) -> TimeChoice:
    """Pure decision: the caller fetched `booked` and passes the clock in."""
    picked = resolve_choice(text, offered) if offered else None
    request = parse_when(text, now, biz.date_order, biz.open_spans)
    if picked and request and request.day and request.day != _day_of(picked, biz):
        picked = None  # "thursday 3pm" is not the "3:00pm" offered for Friday
    if picked:
        start = datetime.fromisoformat(picked).astimezone(biz.timezone)
        return refit(start, service, booked, biz, now)

    if request is None:
        return TimeChoice(note=NOT_UNDERSTOOD, options=list(offered))
    resolved = resolve_start(request, current, now, biz.timezone)
    if resolved is not None:
        return refit(resolved, service, booked, biz, now)

    starts = options_for(request, service, biz, booked, now)
    if not starts:
        return TimeChoice(note="Sorry, nothing is free then.")
    days = {s.date() for s in starts}
    if len(days) == 1:
        note = f"{format_day(starts[0].date())} has free times."
    else:
        note = "These times are free."
    missed = day_problem(request, days, biz, now)
    if missed:
        note = f"{missed} {'Nearest free:' if len(days) > 1 else note}"
    return TimeChoice(options=slot_options(starts), note=note)


def _day_of(payload: str, biz: Business) -> date:
    return datetime.fromisoformat(payload).astimezone(biz.timezone).date()


def day_problem(
    request: WhenRequest, offered_days: set[date], biz: Business, now: datetime
) -> str | None:
    """Why none of the options is on the day asked for ("Sorry, we're closed on
    Sundays."), so other days are never offered as if they were that day."""
    if request.day is None or request.day in offered_days:
        return None
    day, today = request.day, now.astimezone(biz.timezone).date()
    label = format_day(day)
    if day < today:
        return f"Sorry, {label} has already passed."
    if day > today + timedelta(days=biz.horizon_days):
        return f"Sorry, we only book up to {biz.horizon_days} days ahead."
    if biz.hours_on(day) is None:
        return f"Sorry, we're closed on {day.strftime('%A')}s."
    if request.window is not None:
        return f"Sorry, nothing is free {label} at that time of day."
    return f"Sorry, {label} is fully booked."


def refit(
    start: datetime,
    service: Service,
    booked: Sequence[Booked],
    biz: Business,
    now: datetime,
) -> TimeChoice:
    """A start the customer chose (or chose for another service: a longer one may
    run past closing): kept if it can be booked, else why not and the nearest."""
    problem = slot_problem(start, service, biz, booked, now)
    if problem is None:
        return TimeChoice(start=start)
    return _alternatives(problem, start, service, booked, biz, now)


def _alternatives(
    problem: str,
    start: datetime,
    service: Service,
    booked: Sequence[Booked],
    biz: Business,
    now: datetime,
) -> TimeChoice:
    nearby = nearby_alternatives(start, service, biz, booked, now)
    note = problem_sentence(problem, start, biz, service)
    if nearby:
        note += " Nearby:"
    return TimeChoice(options=slot_options(nearby), note=note)
