"""PolyAI-style inactivity: warn an idle engaged session, close it if nobody replies.

The schedule is two Redis zsets (customer -> when the next step is due), so it
survives a restart and whichever replica polls first acts on it. Taking a due entry
is one single-key Lua script that removes it only if it is still due, so with any
number of replicas exactly one of them gets each step; a customer's reply that
re-arms the timer in between makes the claim fail. A replica that dies between its
claim and the send loses that one warning (at most once, never twice); the session
then still ends by Rasa's own 24 h expiry.

Phases, in the per-customer hash: waiting (armed after each customer text) ->
warned (warning sent, grace running) -> closed (the next text starts a new session).

The schedules and the phase hashes share the hash tag `{inactivity}`
(redisio/keys.py), so each change of both is one atomic step on one Redis Cluster
slot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

from redisio import keys as redis_keys
from redisio import scripts
from redisio.atomic import atomic

WAITING, WARNED, CLOSED = "waiting", "warned", "closed"
KEEP_AT_LEAST = 30 * 86400  # seconds a conversation's phase hash outlives its last step


@dataclass(frozen=True)
class IdleConversation:
    customer: str
    phase: str
    business_number: str  # the number the customer texted: the warning comes from it
    pair: str  # what opt-out is keyed by: the number or the Messaging Service


class Inactivity:
    def __init__(self, redis: Redis, warning_after: float, grace: float) -> None:
        self.redis = redis
        self.warning_after = warning_after
        self.grace = grace

    @property
    def enabled(self) -> bool:
        return self.warning_after > 0

    async def engaged(
        self, customer: str, business_number: str, pair: str, now: float | None = None
    ) -> None:
        """The customer texted: (re-)arm the warning, cancel a pending close."""
        now = time.time() if now is None else now
        phase = redis_keys.inactivity(customer)
        await atomic(
            self.redis,
            ("HSET", phase, "phase", WAITING, "business", business_number)
            + ("pair", pair),
            ("EXPIRE", phase, self.keep_seconds),
            ("ZADD", redis_keys.INACTIVITY_WARN, now + self.warning_after, customer),
            ("ZREM", redis_keys.INACTIVITY_CLOSE, customer),
        )

    async def due(self, schedule: str, now: float, limit: int = 100) -> list[str]:
        return list(await self.redis.zrangebyscore(schedule, "-inf", now, 0, limit))

    async def claim(self, schedule: str, customer: str, now: float) -> bool:
        """True for exactly one caller per due step."""
        return bool(
            await scripts.INACTIVITY_CLAIM(
                self.redis, keys=[schedule], args=[customer, now]
            )
        )

    async def get(self, customer: str) -> IdleConversation | None:
        fields = await self.redis.hgetall(redis_keys.inactivity(customer))
        if "phase" not in fields:
            return None
        return IdleConversation(
            customer,
            fields["phase"],
            fields.get("business", ""),
            fields.get("pair") or fields.get("business", ""),
        )

    async def warned(self, customer: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        phase = redis_keys.inactivity(customer)
        await atomic(
            self.redis,
            ("HSET", phase, "phase", WARNED),
            ("EXPIRE", phase, self.keep_seconds),
            ("ZADD", redis_keys.INACTIVITY_CLOSE, now + self.grace, customer),
        )

    async def closed(self, customer: str) -> None:
        phase = redis_keys.inactivity(customer)
        await atomic(
            self.redis,
            ("HSET", phase, "phase", CLOSED),
            ("EXPIRE", phase, self.keep_seconds),
        )

    @property
    def keep_seconds(self) -> int:
        """How long a conversation's phase matters: past the warning and the grace
        period, and past Rasa's own session expiry (a "closed" conversation's next
        text starts a new session; once Rasa's 24 h expiry passed, Rasa does that
        itself). 30 days covers both with room."""
        return int(max(KEEP_AT_LEAST, self.warning_after + self.grace + 86400))

    async def is_closed(self, customer: str) -> bool:
        phase = await self.redis.hget(redis_keys.inactivity(customer), "phase")
        return phase in (CLOSED, CLOSED.encode())

    async def forget(self, customer: str) -> None:
        """No more steps for this customer (opted out, paused, or gone)."""
        await atomic(
            self.redis,
            ("ZREM", redis_keys.INACTIVITY_WARN, customer),
            ("ZREM", redis_keys.INACTIVITY_CLOSE, customer),
            ("DEL", redis_keys.inactivity(customer)),
        )
