"""The same `idempotency_key` within 24 hours gets the first answer again.

The first request marks the key "pending" (one script, so of two identical
requests arriving together exactly one runs); the other waits for its answer.
A pending mark older than STALE_SECONDS belongs to a request whose process died:
the next one takes over. Re-running it cannot text twice, because its parts are
sent with ids made from the same key (connectors/sender.py sends a part once).
The key is scoped to the API key's name and stored as a hash of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from redisio import keys as redis_keys
from redisio import scripts

KEEP_SECONDS = 24 * 3600
STALE_SECONDS = 60.0
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as stored: status and JSON body."""

    status: int
    body: dict[str, Any]


class Conflict(Exception):
    """The key was used before for a different request."""


class StillRunning(Exception):
    """The first request with this key has not answered within WAIT_SECONDS."""


def digest(text: str) -> str:
    """Short and fixed-length: the caller's key is never a Redis key name."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def fingerprint(request: dict[str, Any]) -> str:
    """The same request however its JSON was spelled (key order, spaces)."""
    return digest(json.dumps(request, sort_keys=True, separators=(",", ":")))


@dataclass
class Claim:
    """Ours to run; `finish` stores the answer, `release` lets a retry run it."""

    redis: Redis
    key: str
    token: str
    fingerprint: str

    async def finish(self, answer: Answer) -> None:
        record = json.dumps(
            {
                "state": "done",
                "fingerprint": self.fingerprint,
                "status": answer.status,
                "body": answer.body,
            }
        )
        await scripts.IDEMPOTENCY(
            self.redis, keys=[self.key], args=["finish", self.token, record]
        )

    async def release(self) -> None:
        await scripts.IDEMPOTENCY(
            self.redis, keys=[self.key], args=["release", self.token]
        )


class Idempotency:
    def __init__(
        self,
        redis: Redis,
        clock: Callable[[], float] = time.time,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self.redis = redis
        self.clock = clock
        self.wait_seconds = wait_seconds

    async def begin(
        self, key_name: str, idempotency_key: str, request: dict[str, Any]
    ) -> Claim | Answer:
        """A Claim to run the request, or the answer the first request got."""
        key = redis_keys.api_idempotency(key_name, digest(idempotency_key))
        mark = fingerprint(request)
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.wait_seconds
        while True:
            reply = await scripts.IDEMPOTENCY(
                self.redis,
                keys=[key],
                args=["begin", token, self.clock(), STALE_SECONDS, KEEP_SECONDS, mark],
            )
            state = reply[0]
            if state == "mine":
                return Claim(self.redis, key, token, mark)
            record = json.loads(reply[1])
            if record.get("fingerprint") != mark:
                raise Conflict(idempotency_key)
            if state == "done":
                return Answer(int(record["status"]), dict(record["body"]))
            if time.monotonic() >= deadline:
                raise StillRunning(idempotency_key)
            await asyncio.sleep(POLL_SECONDS)
