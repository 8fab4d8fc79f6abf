"""The diary against a real Redis: overlaps refused atomically, history kept."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from redis.asyncio import Redis

from actions.appointment_store import AppointmentStore, SlotTaken
from actions.business import business

BIZ = business()
CLEANING = BIZ.service("cleaning")
CHECKUP = BIZ.service("checkup")


def at(days: int, hour: int, minute: int = 0) -> datetime:
    day = (BIZ.now() + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BIZ.timezone)


@pytest.fixture
def store(redis: Redis) -> AppointmentStore:
    return AppointmentStore(redis, BIZ.timezone)


async def test_booked_appointment_is_found_by_customer_number(
    store: AppointmentStore,
) -> None:
    booked = await store.book("+15555550101", CLEANING, at(3, 10), "Sam Lee")
    upcoming = await store.upcoming("+15555550101", BIZ.now())
    assert [a.id for a in upcoming] == [booked.id]
    assert upcoming[0].start == at(3, 10)
    assert upcoming[0].end == at(3, 10, 45)
    assert upcoming[0].name == "Sam Lee"
    assert await store.upcoming("+15555550102", BIZ.now()) == []


async def test_overlapping_booking_is_refused(store: AppointmentStore) -> None:
    await store.book("+15555550101", CLEANING, at(3, 10), "A")
    with pytest.raises(SlotTaken):
        await store.book("+15555550102", CHECKUP, at(3, 10, 30), "B")
    with pytest.raises(SlotTaken):
        await store.book("+15555550102", CLEANING, at(3, 9, 30), "B")


async def test_back_to_back_bookings_are_allowed(store: AppointmentStore) -> None:
    await store.book("+15555550101", CLEANING, at(3, 10), "A")
    await store.book("+15555550102", CHECKUP, at(3, 10, 45), "B")
    await store.book("+15555550103", CHECKUP, at(3, 9, 30), "C")
    booked = await store.booked_between(at(3, 0), at(4, 0))
    assert sorted(b.start for b in booked) == [at(3, 9, 30), at(3, 10), at(3, 10, 45)]


async def test_ten_customers_racing_for_one_slot_get_it_once(
    store: AppointmentStore,
) -> None:
    results = await asyncio.gather(
        *(
            store.book(f"+1555555020{i}", CLEANING, at(5, 11), f"C{i}")
            for i in range(10)
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, SlotTaken) for r in results if isinstance(r, Exception))


async def test_cancel_frees_the_slot_and_keeps_the_record(
    store: AppointmentStore,
) -> None:
    booked = await store.book("+15555550101", CLEANING, at(3, 10), "A")
    cancelled = await store.cancel(booked)
    assert cancelled.status == "cancelled"
    assert (await store.get(booked.id)).status == "cancelled"
    assert await store.upcoming("+15555550101", BIZ.now()) == []
    await store.book("+15555550102", CLEANING, at(3, 10), "B")


async def test_move_does_not_collide_with_itself(store: AppointmentStore) -> None:
    booked = await store.book("+15555550101", CLEANING, at(3, 10), "A")
    moved = await store.move(booked, at(3, 10, 15), CLEANING)
    assert moved.start == at(3, 10, 15)
    assert [b.start for b in await store.booked_between(at(3, 0), at(4, 0))] == [
        at(3, 10, 15)
    ]
    other = await store.book("+15555550102", CHECKUP, at(3, 11), "B")
    with pytest.raises(SlotTaken):
        await store.move(other, at(3, 10, 30), CHECKUP)


async def test_confirm_marks_the_appointment(store: AppointmentStore) -> None:
    booked = await store.book("+15555550101", CLEANING, at(3, 10), "A")
    await store.confirm(booked)
    assert (await store.get(booked.id)).status == "confirmed"
    assert (await store.upcoming("+15555550101", BIZ.now()))[0].status == "confirmed"


async def test_past_appointments_are_not_upcoming(store: AppointmentStore) -> None:
    await store.book("+15555550101", CLEANING, at(-2, 10), "A")
    future = await store.book("+15555550101", CHECKUP, at(2, 10), "A")
    assert [a.id for a in await store.upcoming("+15555550101", BIZ.now())] == [
        future.id
    ]
