"""Daily clean-up against a real Redis: one replica runs it, dead stream consumers go,
tracker history past its retention goes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from redis.asyncio import Redis

from connectors.housekeeping import Housekeeping
from redisio import keys as redis_keys
from stores.tracker_store import RedisSessionTrackerStore
from tools.harness.redis_server import RedisServer

ROOT = Path(__file__).parents[2]


async def read_as(redis: Redis, consumer: str) -> None:
    await redis.xreadgroup(
        redis_keys.READY_GROUP, consumer, {redis_keys.READY: ">"}, count=10
    )


async def test_consumers_of_gone_processes_are_removed(redis: Redis) -> None:
    await redis.xgroup_create(
        redis_keys.READY, redis_keys.READY_GROUP, id="$", mkstream=True
    )
    # A process that served a text, acked it and died:
    first = await redis.xadd(redis_keys.READY, {"customer": "+14155550001"})
    await read_as(redis, "gone")
    await redis.xack(redis_keys.READY, redis_keys.READY_GROUP, first)
    # one that died between reading and acking (a wake-up only: the sweeper finds
    # the queued text through sms:work):
    await redis.xadd(redis_keys.READY, {"customer": "+14155550002"})
    await read_as(redis, "died-holding-work")
    await asyncio.sleep(0.3)
    await redis.xadd(redis_keys.READY, {"customer": "+14155550003"})
    await read_as(redis, "me")  # and this process, reading now
    keeper = Housekeeping(redis, lambda: None, "me", dead_after_ms=200)

    assert await keeper.remove_dead_consumers() == 2
    left = await redis.xinfo_consumers(redis_keys.READY, redis_keys.READY_GROUP)
    assert [c["name"] for c in left] == ["me"]


async def test_no_stream_yet_is_nothing_to_do(redis: Redis) -> None:
    keeper = Housekeeping(redis, lambda: None, "me")
    assert await keeper.remove_dead_consumers() == 0


async def test_one_replica_per_interval_runs_it(redis: Redis) -> None:
    first = Housekeeping(redis, lambda: None, "a", interval_seconds=0.5)
    second = Housekeeping(redis, lambda: None, "b", interval_seconds=0.5)
    assert await first.tick() is not None
    assert await second.tick() is None
    assert await first.tick() is None
    await asyncio.sleep(0.6)
    assert await second.tick() is not None
    assert await redis.pttl(redis_keys.HOUSEKEEPING) > 0  # the claim itself expires


async def test_it_applies_the_tracker_retention(
    redis: Redis, redis_server: RedisServer
) -> None:
    store = RedisSessionTrackerStore(
        Domain.load(ROOT / "domain.yml"),
        host=redis_server.url,
        retention_days=30,
    )
    try:
        events = [
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted("action_listen"),
            UserUttered("hi", {"name": "greet", "confidence": 1.0}),
        ]
        await store.save(DialogueStateTracker.from_events("+14155550002", events))
        keeper = Housekeeping(redis, lambda: store, "me")
        report = await keeper.run(now=time.time() + 31 * 86400)
        assert report.trackers.conversations_deleted == 1
        assert not await store.exists("+14155550002")
    finally:
        await store.close()
