"""Who has opted out, per (customer, business number) pair, as Twilio counts it.

A STOP to one business number opts the customer out of that number only (or of the
Messaging Service it came through). Every change is also appended to a log, the
record a business must be able to show.
"""

from __future__ import annotations

import json
import time

from redis.asyncio import Redis

from redisio import keys as redis_keys
from redisio.atomic import atomic


async def is_suppressed(redis: Redis, customer: str, business: str | None) -> bool:
    """True if this pair must get nothing from us; "*" stops every sender."""
    fields = ["*"] + ([business] if business else [])
    values = await redis.hmget(redis_keys.opt_out(customer), fields)
    return any(v is not None for v in values)


def opt_out_record(reason: str) -> str:
    """The opt-out hash value and log line for an opt-out without a STOP text."""
    return json.dumps({"at": time.time(), "change": "opt_out", "reason": reason})


async def suppress(redis: Redis, customer: str, business: str, reason: str) -> None:
    """Opt out without a STOP text, e.g. after Twilio answered a send with 21610."""
    record = opt_out_record(reason)
    await atomic(
        redis,
        ("HSET", redis_keys.opt_out(customer), business, record),
        ("RPUSH", redis_keys.opt_out_log(customer), f"{business} {record}"),
    )


async def history(redis: Redis, customer: str) -> list[str]:
    """Every opt-out and opt-in record of a customer, oldest first."""
    return list(await redis.lrange(redis_keys.opt_out_log(customer), 0, -1))
