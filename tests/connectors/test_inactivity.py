"""The inactivity schedule against a real Redis: each due step is claimed once, a
reply re-arms the warning and cancels a pending close."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from connectors.inactivity import CLOSED, WAITING, WARNED, Inactivity
from redisio import keys as redis_keys

CUSTOMER, BUSINESS = "+14155552671", "+15017122661"
WARN, CLOSE = redis_keys.INACTIVITY_WARN, redis_keys.INACTIVITY_CLOSE


async def test_a_due_warning_is_claimed_by_exactly_one_of_many(redis: Redis) -> None:
    replicas = [Inactivity(redis, 60, 10) for _ in range(8)]
    await replicas[0].engaged(CUSTOMER, BUSINESS, BUSINESS, now=1000)
    assert await replicas[0].due(WARN, 1059) == []  # not yet
    assert await replicas[0].due(WARN, 1060) == [CUSTOMER]
    claims = await asyncio.gather(*(r.claim(WARN, CUSTOMER, 1060) for r in replicas))
    assert sorted(claims) == [False] * 7 + [True]
    assert await replicas[0].due(WARN, 10**9) == []


async def test_a_reply_rearms_the_warning_and_cancels_the_close(redis: Redis) -> None:
    idle = Inactivity(redis, 60, 10)
    await idle.engaged(CUSTOMER, BUSINESS, BUSINESS, now=1000)
    assert await idle.claim(WARN, CUSTOMER, 1060)
    await idle.warned(CUSTOMER, now=1060)
    state = await idle.get(CUSTOMER)
    assert state is not None and state.phase == WARNED
    assert await idle.due(CLOSE, 1070) == [CUSTOMER]
    await idle.engaged(CUSTOMER, BUSINESS, BUSINESS, now=1065)  # replied in grace
    assert await idle.due(CLOSE, 10**9) == []
    assert not await idle.claim(CLOSE, CUSTOMER, 1070)
    assert await idle.due(WARN, 1125) == [CUSTOMER]
    state = await idle.get(CUSTOMER)
    assert state is not None and state.phase == WAITING


async def test_a_claim_fails_if_a_reply_moved_the_step_later(redis: Redis) -> None:
    idle = Inactivity(redis, 60, 10)
    await idle.engaged(CUSTOMER, BUSINESS, BUSINESS, now=1000)
    assert await idle.due(WARN, 1060) == [CUSTOMER]
    await idle.engaged(CUSTOMER, BUSINESS, BUSINESS, now=1050)  # between due and claim
    assert not await idle.claim(WARN, CUSTOMER, 1060)


async def test_closed_until_the_customer_texts_and_forget_clears_all(
    redis: Redis,
) -> None:
    idle = Inactivity(redis, 60, 10)
    await idle.engaged(CUSTOMER, BUSINESS, "MG" + "1" * 32, now=1000)
    await idle.warned(CUSTOMER, now=1060)
    assert await idle.claim(CLOSE, CUSTOMER, 1070)
    await idle.closed(CUSTOMER)
    assert await idle.is_closed(CUSTOMER)
    state = await idle.get(CUSTOMER)
    assert state is not None and state.phase == CLOSED
    assert state.pair == "MG" + "1" * 32 and state.business_number == BUSINESS
    await idle.forget(CUSTOMER)
    assert await idle.get(CUSTOMER) is None
    assert await idle.due(WARN, 10**9) == [] and await idle.due(CLOSE, 10**9) == []


def test_zero_warning_time_turns_inactivity_off() -> None:
    assert not Inactivity(Redis(), 0, 10).enabled
    assert Inactivity(Redis(), 0.5, 10).enabled
