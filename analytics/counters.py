"""Count what happens, per business line and per day, in Redis shared by every process.

Each count is made where the event is known to be new: the inbox's accept said the
MessageSid was not seen before, the status script said this status moved the message
on, the tracker store appended the event. So a retried webhook or a repeated status
callback is never counted twice. A process that dies between the event and its
count loses that one count (undercounting, never double). Days are the business's
(its time zone), and a day's keys expire after the retention setting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from redisio import keys as redis_keys
from redisio.atomic import atomic

logger = logging.getLogger(__name__)

#: Every counter a day holds (besides `failed_code:<code>`, one per Twilio error code).
FIELDS = (
    "inbound",
    "outbound",
    "segments_in",
    "segments_out",
    "delivered",
    "undelivered",
    "failed",
    "sessions",
    "contacts_matched",
    "opt_outs",
    "handoffs",
    "inactivity_warnings",
)
#: Delivery outcomes that end a message's story (status callbacks or a refusal).
FINAL_STATUSES = ("delivered", "undelivered", "failed")
CODE_PREFIX = "failed_code:"


def day_of(at: float, zone: ZoneInfo) -> str:
    """The business's calendar day of a moment: a text at 23:30 local is that day."""
    return datetime.fromtimestamp(at, zone).date().isoformat()


class Counters:
    """The write side; never raises (a count must not cost a customer a reply)."""

    def __init__(self, redis: Redis, zone: ZoneInfo, retention_days: int) -> None:
        self.redis = redis
        self.zone = zone
        self.retention_seconds = retention_days * 86400

    async def add(
        self,
        line: str,
        counts: Mapping[str, int],
        customer: str | None = None,
        at: float | None = None,
    ) -> None:
        """Add `counts` to the line's day; `customer` joins the day's unique numbers."""
        if not line:
            return
        at = time.time() if at is None else at
        day = day_of(at, self.zone)
        hash_key = redis_keys.stats_day(line, day)
        commands: list[tuple[object, ...]] = [
            ("HINCRBY", hash_key, field, int(n)) for field, n in counts.items() if n
        ]
        # Kept a day past the retention, so the oldest day reported is whole.
        ttl = self.retention_seconds + 86400
        commands.append(("EXPIRE", hash_key, ttl))
        if customer:
            numbers_key = redis_keys.stats_numbers(line, day)
            commands += [("SADD", numbers_key, customer), ("EXPIRE", numbers_key, ttl)]
        commands.append(("SADD", redis_keys.STATS_LINES, line))
        try:
            await atomic(self.redis, *commands)
            if customer:
                await self._conversation(customer, line, counts, at)
        except Exception as err:  # noqa: BLE001 - counting is never worth a failure
            logger.warning("analytics: not counted: %s", type(err).__name__)

    async def delivery(self, line: str, status: str, error_code: str | None) -> None:
        """A message reached a final status (counted once per message and status)."""
        if status not in FINAL_STATUSES:
            return
        counts = {status: 1}
        if error_code and status != "delivered":
            counts[CODE_PREFIX + str(error_code)] = 1
        await self.add(line, counts)

    async def _conversation(
        self, customer: str, line: str, counts: Mapping[str, int], at: float
    ) -> None:
        summary = redis_keys.conversation_summary(customer)
        commands: list[tuple[object, ...]] = [("HSET", summary, "line", line)]
        for field in ("inbound", "outbound"):
            if counts.get(field):
                commands.append(("HINCRBY", summary, field, int(counts[field])))
        commands.append(("EXPIRE", summary, self.retention_seconds))
        await atomic(self.redis, *commands)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(redis_keys.CONVERSATIONS, {customer: at}, gt=True)
            pipe.zremrangebyscore(
                redis_keys.CONVERSATIONS, "-inf", at - self.retention_seconds
            )
            await pipe.execute()
