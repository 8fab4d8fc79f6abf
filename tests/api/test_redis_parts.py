"""The business API's Redis parts on a real server: the shared rate limit, the
idempotency record two requests race for, and the deferred-text queue workers
share. Clocks are passed in, so the tests move time instead of waiting."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from api.deferred import TAKEN_STALE_SECONDS, DeferredTexts
from api.idempotency import Answer, Claim, Conflict, Idempotency, StillRunning
from api.rate_limit import RateLimit
from redisio import keys as redis_keys


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_burst_then_the_rate_with_a_retry_after(redis: Redis) -> None:
    clock = Clock()
    limit = RateLimit(redis, rate_per_minute=30, burst=3, clock=clock)
    assert [await limit.take("crm") for _ in range(3)] == [0, 0, 0]
    assert await limit.take("crm") == 2  # one token every 2 s
    clock.now += 2
    assert await limit.take("crm") == 0
    assert await limit.take("crm") == 2


async def test_keys_have_buckets_of_their_own(redis: Redis) -> None:
    limit = RateLimit(redis, rate_per_minute=60, burst=1, clock=Clock())
    assert await limit.take("crm") == 0
    assert await limit.take("crm") == 1
    assert await limit.take("reminders") == 0


async def test_two_workers_share_one_bucket(redis: Redis) -> None:
    """Two processes' limiters on one Redis: together, no more than the burst."""
    clock = Clock()
    first = RateLimit(redis, rate_per_minute=6, burst=5, clock=clock)
    second = RateLimit(redis, rate_per_minute=6, burst=5, clock=clock)
    waits = await asyncio.gather(
        *[(first if i % 2 else second).take("crm") for i in range(12)]
    )
    assert sum(1 for w in waits if w == 0) == 5


async def test_the_bucket_expires_once_full_again(redis: Redis) -> None:
    limit = RateLimit(redis, rate_per_minute=60, burst=10, clock=Clock())
    await limit.take("crm")
    assert 0 < await redis.ttl(redis_keys.api_bucket("crm")) <= 11


REQUEST = {"to": "+14155552671", "message": "hi"}


async def test_the_same_key_gets_the_first_answer(redis: Redis) -> None:
    store = Idempotency(redis)
    claim = await store.begin("crm", "order-1", REQUEST)
    assert isinstance(claim, Claim)
    await claim.finish(Answer(202, {"message_sids": ["SM1"]}))
    again = await store.begin("crm", "order-1", REQUEST)
    assert again == Answer(202, {"message_sids": ["SM1"]})
    assert isinstance(await store.begin("reminders", "order-1", REQUEST), Claim)


async def test_the_same_key_for_another_request_is_a_conflict(redis: Redis) -> None:
    store = Idempotency(redis)
    claim = await store.begin("crm", "order-1", REQUEST)
    assert isinstance(claim, Claim)
    await claim.finish(Answer(202, {}))
    with pytest.raises(Conflict):
        await store.begin("crm", "order-1", {**REQUEST, "message": "other"})


async def test_two_at_once_run_once_and_both_get_its_answer(redis: Redis) -> None:
    store = Idempotency(redis)
    runs = []

    async def request() -> Answer:
        got = await store.begin("crm", "order-2", REQUEST)
        if isinstance(got, Answer):
            return got
        runs.append(1)
        await asyncio.sleep(0.3)
        answer = Answer(202, {"message_sids": ["SM2"]})
        await got.finish(answer)
        return answer

    first, second = await asyncio.gather(request(), request())
    assert runs == [1]
    assert first == second == Answer(202, {"message_sids": ["SM2"]})


async def test_a_released_key_runs_again(redis: Redis) -> None:
    store = Idempotency(redis)
    claim = await store.begin("crm", "order-3", REQUEST)
    assert isinstance(claim, Claim)
    await claim.release()
    assert isinstance(await store.begin("crm", "order-3", REQUEST), Claim)


async def test_a_request_that_died_is_taken_over_later(redis: Redis) -> None:
    clock = Clock()
    store = Idempotency(redis, clock=clock, wait_seconds=0.2)
    assert isinstance(await store.begin("crm", "order-4", REQUEST), Claim)
    with pytest.raises(StillRunning):
        await store.begin("crm", "order-4", REQUEST)
    clock.now += 61
    assert isinstance(await store.begin("crm", "order-4", REQUEST), Claim)


async def test_the_record_lasts_a_day(redis: Redis) -> None:
    store = Idempotency(redis)
    claim = await store.begin("crm", "order-5", REQUEST)
    assert isinstance(claim, Claim)
    await claim.finish(Answer(202, {}))
    ttl = await redis.ttl(claim.key)
    assert 24 * 3600 - 5 < ttl <= 24 * 3600


async def test_a_deferred_text_is_taken_once_when_due(redis: Redis) -> None:
    clock = Clock()
    one, two = DeferredTexts(redis, clock), DeferredTexts(redis, clock)
    job = await one.add("crm", REQUEST, due=clock.now + 60)
    assert await one.take_due() == [] and await one.waiting() == 1
    clock.now += 60
    taken = await asyncio.gather(one.take_due(), two.take_due())
    assert sorted(len(t) for t in taken) == [0, 1]
    (got,) = taken[0] or taken[1]
    assert (got.id, got.request) == (job.id, REQUEST)
    await one.done(got)
    clock.now += TAKEN_STALE_SECONDS + 1
    assert await two.take_due() == []
    assert not await redis.exists(redis_keys.DEFERRED_JOBS)


async def test_a_job_whose_worker_died_is_taken_again(redis: Redis) -> None:
    clock = Clock()
    queue = DeferredTexts(redis, clock)
    job = await queue.add("crm", REQUEST, due=clock.now)
    assert [j.id for j in await queue.take_due()] == [job.id]
    clock.now += TAKEN_STALE_SECONDS - 1
    assert await queue.take_due() == []
    clock.now += 2
    assert [j.id for j in await queue.take_due()] == [job.id]
