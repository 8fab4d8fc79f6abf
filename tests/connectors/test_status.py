"""Delivery status only moves forward, each status counts once, 21610 suppresses."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from connectors import suppression
from connectors.status import handle_callback, record_status
from redisio import keys as redis_keys

CUSTOMER, BUSINESS, SID = "+14155552671", "+15017122661", "SM" + "a" * 32


def callback(status: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": SID,
        "MessageStatus": status,
        "To": CUSTOMER,
        "From": BUSINESS,
        **extra,
    }


async def status_of(redis: Redis) -> str:
    return await redis.hget(redis_keys.message(CUSTOMER, SID), "status")


async def test_a_late_sent_never_overwrites_delivered(redis: Redis) -> None:
    for status in ("queued", "delivered", "sent", "queued"):
        await handle_callback(redis, callback(status))
    assert await status_of(redis) == "delivered"


async def test_repeats_are_duplicates(redis: Redis) -> None:
    assert await record_status(redis, CUSTOMER, SID, "sent") == "updated"
    assert await record_status(redis, CUSTOMER, SID, "sent") == "duplicate"
    assert await record_status(redis, CUSTOMER, SID, "queued") == "stale"
    assert await record_status(redis, CUSTOMER, SID, "delivered") == "updated"


async def test_error_code_is_kept_and_21610_suppresses(redis: Redis) -> None:
    await handle_callback(redis, callback("failed", ErrorCode="21610"))
    record = await redis.hgetall(redis_keys.message(CUSTOMER, SID))
    assert record["status"] == "failed" and record["error_code"] == "21610"
    assert await suppression.is_suppressed(redis, CUSTOMER, BUSINESS)


async def test_undelivered_keeps_its_error(redis: Redis) -> None:
    await handle_callback(redis, callback("sent"))
    await handle_callback(redis, callback("undelivered", ErrorCode="30003"))
    await handle_callback(redis, callback("delivered"))  # same rank: first final wins
    record = await redis.hgetall(redis_keys.message(CUSTOMER, SID))
    assert record["status"] == "undelivered" and record["error_code"] == "30003"
    assert not await suppression.is_suppressed(redis, CUSTOMER, BUSINESS)


async def test_a_21610_whose_opt_out_was_not_stored_opts_out_on_twilios_retry(
    redis: Redis,
) -> None:
    """Filing the status and opting out are one step: when storing fails, Twilio's
    retry of the callback is not a duplicate and the opt-out is not lost."""
    # The opt-out write fails once: a key of the wrong type stands in for Redis
    # failing between the two writes.
    await redis.set(redis_keys.opt_out(CUSTOMER), "not a hash")
    with pytest.raises(ResponseError):
        await handle_callback(redis, callback("failed", ErrorCode="21610"))
    await redis.delete(redis_keys.opt_out(CUSTOMER))
    await handle_callback(redis, callback("failed", ErrorCode="21610"))  # the retry
    assert await suppression.is_suppressed(redis, CUSTOMER, BUSINESS)
    record = await redis.hgetall(redis_keys.message(CUSTOMER, SID))
    assert record["status"] == "failed" and record["error_code"] == "21610"
    assert len(await suppression.history(redis, CUSTOMER)) == 1


async def test_a_repeated_21610_does_not_undo_a_later_opt_in(redis: Redis) -> None:
    await handle_callback(redis, callback("failed", ErrorCode="21610"))
    await redis.delete(redis_keys.opt_out(CUSTOMER))  # the customer texted START
    await handle_callback(redis, callback("failed", ErrorCode="21610"))
    assert not await suppression.is_suppressed(redis, CUSTOMER, BUSINESS)
