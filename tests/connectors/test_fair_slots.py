"""FairSlots: a released slot goes to the oldest waiter, never to a newcomer."""

from __future__ import annotations

import asyncio

import pytest

from connectors.fair_slots import FairSlots


async def test_a_waiter_is_not_overtaken_by_a_task_that_asks_later() -> None:
    """The case asyncio.Semaphore (Python 3.10) gets wrong: the slot is released
    while a newcomer's first step is already queued; the woken waiter must still
    get it first."""
    slots = FairSlots(1)
    order: list[str] = []

    async def take(name: str) -> None:
        async with slots:
            order.append(name)
            await asyncio.sleep(0)

    await slots.acquire()
    waiter = asyncio.create_task(take("waiting since before"))
    await asyncio.sleep(0)  # it now waits for the slot
    newcomer = asyncio.create_task(take("newcomer"))  # first step queued
    slots.release()
    await asyncio.gather(waiter, newcomer)
    assert order == ["waiting since before", "newcomer"]


async def test_waiters_are_served_in_the_order_they_asked() -> None:
    slots = FairSlots(2)
    order: list[int] = []

    async def take(k: int) -> None:
        async with slots:
            order.append(k)
            await asyncio.sleep(0.001)

    await asyncio.gather(*(take(k) for k in range(20)))
    assert order == list(range(20))
    assert slots.waiting() == 0


async def test_a_cancelled_waiter_loses_no_slot() -> None:
    slots = FairSlots(1)
    await slots.acquire()
    cancelled = asyncio.create_task(slots.acquire())
    later = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    assert slots.waiting() == 2
    slots.release()  # handed to `cancelled`...
    cancelled.cancel()  # ...which is cancelled before it ran again
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.wait_for(later, 1)  # the slot went on to the next waiter
    slots.release()
    await asyncio.wait_for(slots.acquire(), 1)  # and back: none was lost


def test_no_slots_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FairSlots(0)


async def test_a_waiter_cancelled_before_the_release_is_skipped() -> None:
    slots = FairSlots(1)
    await slots.acquire()
    cancelled = asyncio.create_task(slots.acquire())
    later = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    slots.release()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.wait_for(later, 1)
    assert slots.waiting() == 0
