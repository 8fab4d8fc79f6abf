"""Texts the business asked to send "when allowed": kept in Redis until quiet
hours end, then sent by whichever worker takes them first.

The queue survives restarts (it is Redis). A worker takes due jobs in one script,
so each goes to one worker; a job whose worker died is taken again after
TAKEN_STALE_SECONDS, and its idempotency key keeps the re-run from texting twice.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from redisio import keys as redis_keys
from redisio import scripts
from redisio.atomic import atomic

TAKEN_STALE_SECONDS = 120.0
BATCH = 20


@dataclass(frozen=True)
class Job:
    id: str
    key_name: str
    request: dict[str, Any]
    due: float


class DeferredTexts:
    def __init__(self, redis: Redis, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.clock = clock

    async def add(self, key_name: str, request: dict[str, Any], due: float) -> Job:
        job = Job(uuid.uuid4().hex, key_name, request, due)
        record = json.dumps({"key_name": key_name, "request": request, "due": due})
        await atomic(
            self.redis,
            ("HSET", redis_keys.DEFERRED_JOBS, job.id, record),
            ("ZADD", redis_keys.DEFERRED_DUE, due, job.id),
        )
        return job

    async def take_due(self) -> list[Job]:
        """Due jobs, each now this worker's until `done` (or it dies)."""
        flat = await scripts.OUTBOUND_DUE(
            self.redis,
            keys=[
                redis_keys.DEFERRED_DUE,
                redis_keys.DEFERRED_TAKEN,
                redis_keys.DEFERRED_JOBS,
            ],
            args=[self.clock(), TAKEN_STALE_SECONDS, BATCH],
        )
        jobs = []
        for job_id, raw in zip(flat[::2], flat[1::2], strict=True):
            data = json.loads(raw)
            jobs.append(Job(job_id, data["key_name"], data["request"], data["due"]))
        return jobs

    async def done(self, job: Job) -> None:
        await atomic(
            self.redis,
            ("HDEL", redis_keys.DEFERRED_JOBS, job.id),
            ("ZREM", redis_keys.DEFERRED_TAKEN, job.id),
        )

    async def later(self, job: Job, due: float) -> None:
        """Back to the queue (the window closed again before it went)."""
        await atomic(
            self.redis,
            ("ZREM", redis_keys.DEFERRED_TAKEN, job.id),
            ("ZADD", redis_keys.DEFERRED_DUE, due, job.id),
        )

    async def waiting(self) -> int:
        return int(await self.redis.zcard(redis_keys.DEFERRED_DUE))
