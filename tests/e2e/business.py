"""The business under test (BUSINESS: this repository's own, or a folder such as
examples/salon), as the tests that run the assistant word it: its name, the services
it books, its hours and time zone. In-process tests use this repository's own
business file instead (tests/conftest.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from actions.business import Service, load_business
from actions.faq import opening_hours
from tests.actions import trackers
from tests.actions.trackers import mdy as mdy  # the same for any business
from tools.harness.sms_stack import FOLDER

BIZ = load_business(FOLDER.business_file)
NAME = BIZ.name
#: Two services it books (the dental: cleaning, checkup; the salon: haircut, color).
SERVICE, OTHER_SERVICE = BIZ.services[0], BIZ.services[1]
#: The first line of an SMS session.
GREETING = f"Hi, this is {NAME}."
#: How the assistant answers "what are your hours".
HOURS = f"We're open {opening_hours(BIZ)}."


def a(service: Service) -> str:
    """ "a haircut", "an emergency visit": how a customer asks for it."""
    return f"{'an' if service.name[:1] in 'aeiou' else 'a'} {service.name}"


def opens_at(day: date, at: time, service: Service = SERVICE) -> bool:
    """The service fits on `day` from `at` within the opening hours."""
    hours = BIZ.hours_on(day)
    end = datetime.combine(day, at) + timedelta(minutes=service.duration_minutes)
    return (
        hours is not None
        and hours.opens <= at
        and end.date() == day
        and end.time() <= hours.closes
    )


def open_day(
    at: time = time(10), min_days_ahead: int = 2, service: Service = SERVICE
) -> date:
    """The first day at least `min_days_ahead` away when `service` fits at `at`."""
    day = BIZ.now().date() + timedelta(days=min_days_ahead)
    while not opens_at(day, at, service):
        day += timedelta(days=1)
    return day


def next_weekday(weekday: int, min_days_ahead: int = 2) -> date:
    return trackers.next_weekday(weekday, min_days_ahead, BIZ)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return trackers.local(day, hour, minute, BIZ)
