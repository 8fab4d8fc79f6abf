"""Periodic clean-up that no single write can do: what keeps Redis bounded over years.

Most keys carry a TTL or a cap from the moment they are written. Two things cannot:
conversation history, which grows with every turn of a customer who keeps texting
(the tracker store's `retention_days`, applied by its `trim()`), and the `ready`
stream's consumer group, which gains one consumer per process start and never
loses it by itself. One replica a day (a SET NX claim) does both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from redisio import keys as redis_keys

logger = logging.getLogger(__name__)

#: A consumer idle this long belongs to a process that is gone (a live worker
#: reads the stream every 2 s). Deleting it also drops what it read and never
#: acked: only wake-ups, since the work itself is found again through `sms:work`.
DEAD_CONSUMER_IDLE_MS = 3600 * 1000
CLAIM_KEY = redis_keys.HOUSEKEEPING


class Trimmable(Protocol):
    async def trim(self, now: float | None = None) -> Any: ...


@dataclass
class Report:
    consumers_removed: int = 0
    trackers: Any = None


class Housekeeping:
    def __init__(
        self,
        redis: Redis,
        tracker_store: Callable[[], Any],
        own_consumer: str,
        interval_seconds: float = 24 * 3600,
        dead_after_ms: int = DEAD_CONSUMER_IDLE_MS,
    ) -> None:
        self.redis = redis
        self.tracker_store = tracker_store
        self.own_consumer = own_consumer
        self.interval_seconds = interval_seconds
        self.dead_after_ms = dead_after_ms

    async def due(self) -> bool:
        """True for one replica per interval (the claim expires with the interval)."""
        return bool(
            await self.redis.set(
                CLAIM_KEY,
                self.own_consumer,
                nx=True,
                px=max(1, int(self.interval_seconds * 1000)),
            )
        )

    async def run(self, now: float | None = None) -> Report:
        report = Report()
        report.consumers_removed = await self.remove_dead_consumers()
        store = self.tracker_store()
        if hasattr(store, "trim"):
            report.trackers = await store.trim(now=now)
        logger.info("housekeeping: %s", report)
        return report

    async def remove_dead_consumers(self) -> int:
        """Consumers of processes that are gone: idle for an hour."""
        try:
            consumers = await self.redis.xinfo_consumers(
                redis_keys.READY, redis_keys.READY_GROUP
            )
        except ResponseError:  # no stream or group yet
            return 0
        removed = 0
        for consumer in consumers:
            name = str(consumer.get("name"))
            if (
                name != self.own_consumer
                and int(consumer.get("idle", 0)) >= self.dead_after_ms
            ):
                await self.redis.xgroup_delconsumer(
                    redis_keys.READY, redis_keys.READY_GROUP, name
                )
                removed += 1
        return removed

    async def tick(self) -> Report | None:
        """What the worker's loop calls: run if this replica holds today's claim."""
        if not await self.due():
            return None
        started = time.monotonic()
        report = await self.run()
        logger.info("housekeeping took %.1f s", time.monotonic() - started)
        return report
