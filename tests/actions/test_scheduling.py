"""Free-text dates and free slots, against a fixed clock and business."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actions.business import Business, parse_business
from actions.dates import (
    AFTERNOON,
    EVENING,
    MORNING,
    UNTIL_CLOSE,
    WhenRequest,
    parse_when,
)
from actions.scheduling import (
    Booked,
    free_slots,
    nearby_alternatives,
    options_for,
    resolve_start,
    slot_problem,
    within_cancellation_window,
)
from tests.properties import property_settings

CLINIC: dict[str, Any] = {
    "name": "Test Dental",
    "timezone": "America/New_York",
    "phone": "(555) 010-0200",
    "address": "1 Main St",
    "hours": {
        "mon": "08:00-18:00",
        "tue": "08:00-18:00",
        "wed": "08:00-18:00",
        "thu": "08:00-18:00",
        "fri": "08:00-16:00",
        "sat": "09:00-13:00",
        "sun": "closed",
    },
    "services": [
        {"key": "cleaning", "name": "cleaning", "duration_minutes": 45, "price": 120},
        {"key": "checkup", "name": "checkup", "duration_minutes": 30, "price": 80},
        {"key": "whitening", "name": "whitening", "duration_minutes": 60, "price": 250},
    ],
    "cancellation": {"notice_hours": 24, "fee": 25},
    "booking": {
        "slot_interval_minutes": 15,
        "min_notice_minutes": 60,
        "horizon_days": 90,
    },
}
BIZ: Business = parse_business(CLINIC)
# Open every day, including the night hours a DST change moves.
ALL_WEEK: Business = parse_business(
    {
        **CLINIC,
        "hours": {
            d: "00:00-23:45" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        },
    }
)
TZ = BIZ.timezone
CLEANING = BIZ.service("cleaning")
WHITENING = BIZ.service("whitening")
assert CLEANING and WHITENING
# Tuesday 3 March 2026, 11:00 in New York.
NOW = datetime(2026, 3, 3, 11, 0, tzinfo=TZ)
TODAY = NOW.date()
PROPERTY = property_settings(max_examples=150)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


def when(
    day: date | None = None,
    t: time | None = None,
    window: Any = None,
    days: tuple[date, ...] | None = None,
) -> WhenRequest:
    return WhenRequest(day=day, at=t, window=window, days=days)


# --- parse_when --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow at 3", when(d(3, 4), time(15))),
        ("tmrw 3pm", when(d(3, 4), time(15))),
        ("Tomorrow, 3 PM", when(d(3, 4), time(15))),
        ("2morrow 10a", when(d(3, 4), time(10))),
        ("tmrw 3", when(d(3, 4), time(15))),
        ("today 4pm", when(TODAY, time(16))),
        ("next tue 10am", when(d(3, 10), time(10))),
        ("tue 10am", when(d(3, 10), time(10))),  # 10am today has passed
        ("tue 12pm", when(TODAY, time(12))),  # still ahead today
        ("tue", when(d(3, 10))),  # a bare weekday is never today
        ("tue evening", when(TODAY, window=EVENING)),
        ("thurs morning", when(d(3, 5), window=MORNING)),
        ("thu", when(d(3, 5))),
        ("thrusday evening at 7", when(d(3, 5), time(19))),
        ("wensday 2p", when(d(3, 4), time(14))),
        ("sat morning", when(d(3, 7), window=MORNING)),
        ("fri after 2", when(d(3, 6), window=(time(14), UNTIL_CLOSE))),
        ("monday afternoon", when(d(3, 9), window=AFTERNOON)),
        ("12/3 2pm", when(d(12, 3), time(14))),
        ("3/12", when(d(3, 12))),
        ("3/1", when(d(3, 1, 2027))),  # already past this year
        ("3/3 10am", when(TODAY, time(10))),  # today stays this year
        ("12/3/2025", when(d(12, 3, 2025))),  # an explicit year is kept
        ("31/3", when(d(3, 31))),  # only the DMY reading is a date
        ("march 5 at 11:15", when(d(3, 5), time(11, 15))),
        ("5th of april", when(d(4, 5))),
        ("the 15th at noon", when(d(3, 15), time(12))),
        ("on the 2nd", when(d(4, 2))),
        ("noon", when(t=time(12))),
        ("4pm", when(t=time(16))),
        ("4:30", when(t=time(16, 30))),
        ("11:15", when(t=time(11, 15))),
        ("10:30am", when(t=time(10, 30))),
        ("13:30", when(t=time(13, 30))),
        ("at 3", when(t=time(15))),
        ("@ 9", when(t=time(9))),
        ("3 o'clock", when(t=time(15))),
        ("actually make it 4pm", when(t=time(16))),
        ("can we do 2pm instead", when(t=time(14))),
        ("2pm instead of 3pm", when(t=time(14))),
        ("not tuesday, wednesday", when(d(3, 4))),
        ("move it from tue to thu", when(d(3, 5))),
        ("between 2 and 4", when(window=(time(14), time(16)))),
        ("10-11am", when(window=(time(10), time(11)))),
        ("before noon", when(window=(time(0), time(12)))),
        ("after 2pm tomorrow", when(d(3, 4), window=(time(14), UNTIL_CLOSE))),
        ("morning", when(window=MORNING)),
        ("tonight", when(TODAY, window=EVENING)),
        ("tmrw night", when(d(3, 4), window=EVENING)),
        ("yesterday 3pm", when(d(3, 2), time(15))),
        ("day after tomorrow", when(d(3, 5))),
        ("in 2 weeks", when(d(3, 17))),
        ("tuesday next week at 3", when(d(3, 10), time(15))),
        # Tuesday 3 March: "next wk tue" is next week's Tuesday, not today.
        ("next wk tue at 2", when(d(3, 10), time(14))),
        ("next wk fri 9am", when(d(3, 13), time(9))),
        # "at 10" is the time, "dec 11" the day: not "10 Dec" at 11.
        ("at 10 dec 11", when(d(12, 11), time(10))),
        ("@ 2 mar 20", when(d(3, 20), time(14))),
        ("10 mar at 3pm", when(d(3, 10), time(15))),
    ],
)
def test_parse_when(text: str, expected: WhenRequest) -> None:
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "sam lee",
        "cleaning",
        "2",
        "2nd",
        "the 2nd one",
        "the second",
        "option 2",
        "#2",
        "yes",
        "no",
        "",
        "whenever lol",
        "4 kids",
        "call me at 555-0102",
        "$120",
        "4.30",
        "do u take delta dental",
        "may I book",
        "2/30",
        "25:00",
        "how much is it",
    ],
)
def test_parse_when_without_a_date_or_time_is_none(text: str) -> None:
    assert parse_when(text, NOW) is None


@PROPERTY
@given(st.text(max_size=60), st.sampled_from(["MDY", "DMY"]))
def test_parse_when_never_raises_and_stays_near_without_digits(
    text: str, order: str
) -> None:
    request = parse_when(text, NOW, order)
    assert request is None or isinstance(request, WhenRequest)
    if request and request.day and not any(ch.isdigit() for ch in text):
        assert abs((request.day - TODAY).days) <= 7 * 7  # "in seven weeks" at most


def test_numeric_dates_follow_the_date_order() -> None:
    assert parse_when("12/3", NOW, "MDY") == when(d(12, 3))
    assert parse_when("12/3", NOW, "DMY") == when(d(3, 12))
    assert parse_when("3/12", NOW, "DMY") == when(d(12, 3))
    assert parse_when("3/2", NOW, "DMY") == when(d(2, 3, 2027))
    assert parse_when("12/3/26", NOW, "DMY") == when(d(3, 12))


@pytest.mark.parametrize(
    ("hour", "expected"),
    [(1, 13), (2, 14), (6, 18), (7, 7), (8, 8), (11, 11), (12, 12)],
)
def test_a_bare_hour_is_read_as_clinic_hours(hour: int, expected: int) -> None:
    assert parse_when(f"at {hour}", NOW) == when(t=time(expected))


def test_a_part_of_day_settles_am_or_pm() -> None:
    assert parse_when("evening at 7", NOW) == when(t=time(19))
    assert parse_when("morning at 6", NOW) == when(t=time(6))


def test_a_weekday_is_today_only_while_its_time_is_ahead() -> None:
    thursday_9am = datetime(2026, 3, 5, 9, 0, tzinfo=TZ)
    thursday_1pm = datetime(2026, 3, 5, 13, 0, tzinfo=TZ)
    assert parse_when("thurs morning", thursday_9am) == when(d(3, 5), window=MORNING)
    assert parse_when("thurs morning", thursday_1pm) == when(d(3, 12), window=MORNING)
    assert parse_when("next thu 4pm", thursday_9am) == when(d(3, 12), time(16))


def test_ranges_come_back_as_days() -> None:
    next_week = tuple(d(3, 9) + timedelta(days=i) for i in range(7))
    assert parse_when("next week", NOW) == when(days=next_week)
    assert parse_when("next week at 3", NOW) == when(t=time(15), days=next_week)
    assert parse_when("next week mornings", NOW) == when(window=MORNING, days=next_week)
    assert parse_when("this weekend", NOW) == when(days=(d(3, 7), d(3, 8)))
    assert parse_when("this week", NOW) == when(
        days=tuple(d(3, i) for i in range(3, 9))
    )
    asap = parse_when("asap please", NOW)
    assert asap and asap.days and asap.days[0] == TODAY and len(asap.days) == 14


def test_dates_roll_over_the_new_year() -> None:
    december = datetime(2026, 12, 30, 10, 0, tzinfo=TZ)
    assert parse_when("1/2 at 10", december) == when(d(1, 2, 2027), time(10))
    assert parse_when("the 15th", december) == when(d(1, 15, 2027))
    assert parse_when("on the 5th", december) == when(d(1, 5, 2027))
    assert parse_when("tmrw", december) == when(d(12, 31))
    assert parse_when("next week", december) == when(
        days=tuple(d(1, 4, 2027) + timedelta(days=i) for i in range(7))
    )


# --- slot_problem and free_slots ---------------------------------------------


@pytest.mark.parametrize(
    ("start", "problem"),
    [
        (at(d(3, 5), 10), None),
        (at(d(3, 2), 15), "past"),  # yesterday 3pm
        (at(TODAY, 9), "past"),  # earlier today
        (at(TODAY, 11, 30), "too_soon"),  # less than an hour away
        (at(TODAY, 12), None),
        (at(TODAY + timedelta(days=91), 10), "too_far"),
        (at(TODAY + timedelta(days=90), 10), None),
        (at(d(3, 8), 10), "closed"),  # Sunday
        (at(d(3, 5), 7, 45), "outside_hours"),
        (at(d(3, 5), 17, 30), "outside_hours"),  # a cleaning would end 18:15
        (at(d(3, 5), 17, 15), None),  # ends at 18:00 sharp
        (at(d(3, 6), 15, 30), "outside_hours"),  # Friday closes at 4
        (at(d(3, 7), 12, 15), None),  # Saturday, ends 13:00
        (at(d(3, 5), 10, 7), "off_grid"),
        (at(d(3, 5), 10, 10), "off_grid"),
        (at(d(3, 5), 10).replace(second=30), "off_grid"),
    ],
)
def test_slot_problem(start: datetime, problem: str | None) -> None:
    assert slot_problem(start, CLEANING, BIZ, [], NOW) == problem


def test_slot_problem_sees_overlaps_but_not_touching_bookings() -> None:
    booked = [Booked(at(d(3, 5), 10), at(d(3, 5), 11))]
    assert slot_problem(at(d(3, 5), 10, 30), CLEANING, BIZ, booked, NOW) == "taken"
    assert slot_problem(at(d(3, 5), 9, 30), CLEANING, BIZ, booked, NOW) == "taken"
    assert slot_problem(at(d(3, 5), 9, 15), CLEANING, BIZ, booked, NOW) is None
    assert slot_problem(at(d(3, 5), 11), CLEANING, BIZ, booked, NOW) is None
    in_utc = [
        Booked(b.start.astimezone(timezone.utc), b.end.astimezone(timezone.utc))
        for b in booked
    ]
    assert slot_problem(at(d(3, 5), 10), CLEANING, BIZ, in_utc, NOW) == "taken"


def test_free_slots_are_on_the_grid_inside_hours() -> None:
    slots = free_slots(d(3, 5), CLEANING, BIZ, [], NOW)
    assert slots[0] == at(d(3, 5), 8) and slots[-1] == at(d(3, 5), 17, 15)
    assert len(slots) == (17 * 60 + 15 - 8 * 60) // 15 + 1
    assert all(s.minute % 15 == 0 and s.tzinfo is TZ for s in slots)
    assert free_slots(d(3, 8), CLEANING, BIZ, [], NOW) == []  # Sunday
    assert free_slots(TODAY, CLEANING, BIZ, [], NOW)[0] == at(TODAY, 12)  # 1h notice


def test_the_grid_counts_from_midnight_not_from_opening() -> None:
    odd = parse_business(
        {
            **CLINIC,
            "hours": {"thu": "08:10-12:00"},
            "booking": {"slot_interval_minutes": 20},
        }
    )
    slots = free_slots(d(3, 5), CLEANING, odd, [], NOW)
    assert slots[0] == at(d(3, 5), 8, 20) and slots[-1] == at(d(3, 5), 11, 0)
    assert all((s.hour * 60 + s.minute) % 20 == 0 for s in slots)
    assert slot_problem(at(d(3, 5), 8, 30), CLEANING, odd, [], NOW) == "off_grid"
    assert slot_problem(at(d(3, 5), 8, 0), CLEANING, odd, [], NOW) == "outside_hours"


def test_free_slots_respect_window_and_bookings() -> None:
    booked = [Booked(at(d(3, 5), 9), at(d(3, 5), 10))]
    morning = free_slots(d(3, 5), CLEANING, BIZ, booked, NOW, MORNING)
    assert morning[0] == at(d(3, 5), 8) and morning[-1] == at(d(3, 5), 11, 45)
    assert at(d(3, 5), 8, 15) in morning and at(d(3, 5), 8, 30) not in morning
    assert all(not at(d(3, 5), 8, 30) <= s < at(d(3, 5), 10) for s in morning)
    after_2 = free_slots(d(3, 6), CLEANING, BIZ, [], NOW, (time(14), UNTIL_CLOSE))
    assert after_2[0] == at(d(3, 6), 14) and after_2[-1] == at(d(3, 6), 15, 15)


def test_spring_forward_day_keeps_wall_clock_slots_and_real_durations() -> None:
    day = d(3, 8)  # 2:00am EST jumps to 3:00am EDT
    now = datetime(2026, 3, 7, 12, 0, tzinfo=TZ)
    slots = free_slots(day, WHITENING, ALL_WEEK, [], now)
    clock = [s.time() for s in slots]
    assert time(1, 45) in clock and time(3, 0) in clock
    assert not any(time(2) <= t < time(3) for t in clock)  # those times do not exist
    assert slots[0].utcoffset() == timedelta(hours=-5)
    assert slots[-1].utcoffset() == timedelta(hours=-4)
    # 1:30am EST + 60 min is 3:30am EDT: a booking there blocks 3:00 but not 3:30.
    booked = [Booked(at(day, 1, 30), at(day, 3, 30))]
    assert slot_problem(at(day, 3, 0), WHITENING, ALL_WEEK, booked, now) == "taken"
    assert slot_problem(at(day, 3, 30), WHITENING, ALL_WEEK, booked, now) is None
    assert slot_problem(at(day, 2, 30), WHITENING, ALL_WEEK, [], now) == "off_grid"
    # Daytime slots are the same wall-clock times as on any other Sunday.
    other = free_slots(d(3, 15), WHITENING, ALL_WEEK, [], now)
    assert [s.time() for s in slots if s.hour >= 3] == [
        s.time() for s in other if s.hour >= 3
    ]


def test_fall_back_day_keeps_wall_clock_slots_and_real_durations() -> None:
    day = d(11, 1)  # 2:00am EDT falls back to 1:00am EST
    now = datetime(2026, 10, 31, 12, 0, tzinfo=TZ)
    slots = free_slots(day, WHITENING, ALL_WEEK, [], now)
    clock = [s.time() for s in slots]
    assert len(clock) == len(set(clock))  # each wall-clock time offered once
    assert slots[0].utcoffset() == timedelta(hours=-4)
    assert slots[-1].utcoffset() == timedelta(hours=-5)
    # A 60-min booking at 1:00am EDT ends at 1:00am EST (real time, one hour later).
    start = at(day, 1, 0)
    end = (start.astimezone(timezone.utc) + timedelta(hours=1)).astimezone(TZ)
    assert end.fold == 1 and end.time() == time(1, 0)
    booked = [Booked(start, end)]
    assert slot_problem(at(day, 1, 45), WHITENING, ALL_WEEK, booked, now) == "taken"
    assert slot_problem(at(day, 2, 0), WHITENING, ALL_WEEK, booked, now) is None
    # Daytime slots match an ordinary Sunday.
    other = free_slots(d(11, 8), WHITENING, ALL_WEEK, [], now)
    assert [s.time() for s in slots if s.hour >= 3] == [
        s.time() for s in other if s.hour >= 3
    ]


# --- nearby_alternatives and options_for -------------------------------------


def test_a_taken_slot_offers_the_nearest_free_times_that_day() -> None:
    booked = [Booked(at(d(3, 5), 10), at(d(3, 5), 11))]
    near = nearby_alternatives(at(d(3, 5), 10, 15), CLEANING, BIZ, booked, NOW)
    assert near == [at(d(3, 5), 9, 15), at(d(3, 5), 11), at(d(3, 5), 11, 15)]


def test_a_full_day_offers_the_same_time_on_nearby_days() -> None:
    booked = [Booked(at(d(3, 5), 8), at(d(3, 5), 18))]
    near = nearby_alternatives(at(d(3, 5), 15), CLEANING, BIZ, booked, NOW)
    # One a day, by distance in days: Friday, Wednesday, then Saturday's latest.
    assert near == [at(d(3, 4), 15), at(d(3, 6), 15), at(d(3, 7), 12, 15)]


def test_past_and_too_far_requests_get_alternatives_inside_the_horizon() -> None:
    past = nearby_alternatives(at(d(3, 2), 15), CLEANING, BIZ, [], NOW)
    assert past == [at(TODAY, 15), at(d(3, 4), 15), at(d(3, 5), 15)]
    far = nearby_alternatives(at(d(12, 25), 10), CLEANING, BIZ, [], NOW)
    assert far and all(slot_problem(s, CLEANING, BIZ, [], NOW) is None for s in far)


def test_options_for_a_day_are_spread_out() -> None:
    options = options_for(when(d(3, 5)), CLEANING, BIZ, [], NOW)
    assert options[0] == at(d(3, 5), 8) and options[-1] == at(d(3, 5), 17, 15)
    assert len(options) == 3
    morning = options_for(when(d(3, 5), window=MORNING), CLEANING, BIZ, [], NOW)
    assert len(morning) == 3 and all(s.hour < 12 for s in morning)
    gaps = [b - a for a, b in zip(morning, morning[1:], strict=False)]
    assert min(gaps) >= timedelta(minutes=45)


def test_options_for_an_exact_time() -> None:
    start = at(d(3, 5), 10)
    assert options_for(when(d(3, 5), time(10)), CLEANING, BIZ, [], NOW) == [start]
    booked = [Booked(start, start + timedelta(hours=1))]
    options = options_for(when(d(3, 5), time(10)), CLEANING, BIZ, booked, NOW)
    assert len(options) == 3 and start not in options
    assert all(slot_problem(s, CLEANING, BIZ, booked, NOW) is None for s in options)


def test_options_for_a_closed_or_full_day_are_the_next_open_days() -> None:
    sunday = options_for(when(d(3, 8)), CLEANING, BIZ, [], NOW)
    assert sunday == [at(d(3, 9), 8), at(d(3, 10), 8), at(d(3, 11), 8)]
    full = [Booked(at(d(3, 7), 9), at(d(3, 7), 13))]
    saturday = options_for(when(d(3, 7), window=MORNING), CLEANING, BIZ, full, NOW)
    assert saturday == [at(d(3, 9), 8), at(d(3, 10), 8), at(d(3, 11), 8)]


def test_options_for_ranges_and_windows() -> None:
    next_week = parse_when("next week", NOW)
    assert next_week is not None
    assert options_for(next_week, CLEANING, BIZ, [], NOW) == [
        at(d(3, 9), 8),
        at(d(3, 10), 8),
        at(d(3, 11), 8),
    ]
    at_3 = parse_when("next week at 3", NOW)
    assert at_3 is not None
    assert options_for(at_3, CLEANING, BIZ, [], NOW) == [
        at(d(3, 9), 15),
        at(d(3, 10), 15),
        at(d(3, 11), 15),
    ]
    # A window alone: the soonest day that still has it (today's morning is over).
    morning = options_for(when(window=MORNING), CLEANING, BIZ, [], NOW)
    assert [s.date() for s in morning] == [d(3, 4)] * 3


bookings = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 40), st.integers(1, 8)), max_size=25
).map(
    lambda raw: [
        Booked(
            s := at(d(3, 4) + timedelta(days=day), 8) + timedelta(minutes=15 * q),
            s + timedelta(minutes=15 * length),
        )
        for day, q, length in raw
    ]
)
requests = st.tuples(st.integers(0, 6), st.integers(0, 44)).map(
    lambda r: at(d(3, 4) + timedelta(days=r[0]), 7) + timedelta(minutes=15 * r[1])
)


@PROPERTY
@given(bookings, requests, st.sampled_from(["cleaning", "checkup", "whitening"]))
def test_alternatives_are_always_bookable(
    booked: list[Booked], start: datetime, key: str
) -> None:
    service = BIZ.service(key)
    assert service is not None
    near = nearby_alternatives(start, service, BIZ, booked, NOW)
    assert 1 <= len(near) <= 3 and near == sorted(near) and len(set(near)) == len(near)
    for slot in near:
        assert slot_problem(slot, service, BIZ, booked, NOW) is None
        hours = BIZ.hours_on(slot.date())
        assert hours and hours.opens <= slot.time()
        assert (slot + service.duration).time() <= hours.closes
    request = when(start.date(), start.time())
    for slot in options_for(request, service, BIZ, booked, NOW):
        assert slot_problem(slot, service, BIZ, booked, NOW) is None


@PROPERTY
@given(
    bookings,
    st.sampled_from(
        [
            "thu",
            "sat morning",
            "fri after 2",
            "sun",
            "next week",
            "tomorrow at 3",
            "monday afternoon",
            "asap",
        ]
    ),
)
def test_options_are_always_bookable(booked: list[Booked], text: str) -> None:
    request = parse_when(text, NOW)
    assert request is not None
    options = options_for(request, CLEANING, BIZ, booked, NOW)
    assert 1 <= len(options) <= 3
    assert all(slot_problem(s, CLEANING, BIZ, booked, NOW) is None for s in options)


# --- resolve_start and cancellation ------------------------------------------


def test_resolve_start() -> None:
    current = at(d(3, 10), 10)
    make_it_4 = parse_when("actually make it 4pm", NOW)
    assert make_it_4 is not None
    assert resolve_start(make_it_4, current, NOW, TZ) == at(d(3, 10), 16)
    assert resolve_start(make_it_4, None, NOW, TZ) == at(TODAY, 16)
    assert resolve_start(when(t=time(9)), None, NOW, TZ) == at(d(3, 4), 9)  # 9am passed
    assert resolve_start(when(d(3, 5), time(9)), current, NOW, TZ) == at(d(3, 5), 9)
    assert resolve_start(when(d(3, 5)), current, NOW, TZ) is None
    assert resolve_start(when(d(3, 5), window=MORNING), None, NOW, TZ) is None
    assert resolve_start(when(t=time(9), days=(d(3, 9),)), None, NOW, TZ) is None


def test_resolve_start_on_a_dst_day_is_wall_clock() -> None:
    start = resolve_start(when(d(11, 1), time(10)), None, NOW, TZ)
    assert start is not None and start.time() == time(10)
    assert start.utcoffset() == timedelta(hours=-5)


def test_within_cancellation_window() -> None:
    assert within_cancellation_window(NOW + timedelta(hours=23), NOW, BIZ)
    assert not within_cancellation_window(NOW + timedelta(hours=25), NOW, BIZ)
    assert within_cancellation_window(NOW - timedelta(hours=1), NOW, BIZ)
    # Across the spring-forward night 24 wall-clock hours are only 23 real ones.
    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=TZ)
    assert within_cancellation_window(at(d(3, 8), 10), saturday, BIZ)
    assert not within_cancellation_window(at(d(3, 8), 11), saturday, BIZ)


#: A salon with late evenings: 10-21 on weekdays, 9-17 on Saturday.
SALON_HOURS = {
    **{day: (time(10), time(21)) for day in range(5)},
    5: (time(9), time(17)),
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("at 7", 19),  # 7am closed, 7pm open
        ("at 8", 20),
        ("at 9", 9),  # open at 9am on Saturday, closed at 9pm
        ("at 10", 10),
        ("at 3", 15),  # 3am and 3pm: only the afternoon is open
        ("sat at 8", 8),  # neither open on Saturday: the bare-hour rule
        ("sat at 9", 9),
        ("evening at 7", 19),
        ("morning at 11", 11),
    ],
)
def test_a_bare_hour_follows_the_businesss_opening_hours(
    text: str, expected: int
) -> None:
    request = parse_when(text, NOW, "MDY", SALON_HOURS)
    assert request is not None and request.at == time(expected)


@pytest.mark.parametrize("hour", range(1, 13))
def test_the_clinics_own_hours_read_a_bare_hour_as_before(hour: int) -> None:
    assert parse_when(f"at {hour}", NOW, "MDY", BIZ.open_spans) == parse_when(
        f"at {hour}", NOW
    )
