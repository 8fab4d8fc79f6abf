"""Delivery status of outbound texts: forward-only, deduped, one Lua call each.

Twilio posts several callbacks per message, possibly twice and out of order; a late
`sent` must never overwrite `delivered`. Each status is recorded once (a set per
message), and the current status only moves to a later stage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from redis.asyncio import Redis

from connectors import redis_keys, suppression

RANK = {
    "unknown": 0,
    "scheduled": 0,
    "accepted": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "partially_delivered": 5,
    "delivered": 6,
    "undelivered": 6,
    "failed": 6,
    "canceled": 6,
    "suppressed": 6,
    "read": 7,
}
KEEP_SECONDS = 30 * 24 * 3600

_UPDATE = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 'duplicate' end
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[1], 'at_' .. ARGV[1], ARGV[4])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'error_code', ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[5])
local current = tonumber(redis.call('HGET', KEYS[1], 'status_rank') or '-1')
if tonumber(ARGV[2]) > current then
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'status_rank', ARGV[2])
  return 'updated'
end
return 'stale'
"""


class InvalidStatus(ValueError):
    """A status callback without the fields needed to file it."""


async def record_status(
    redis: Redis,
    customer: str,
    sid: str,
    status: str,
    error_code: str | int | None = None,
) -> str:
    """'updated', 'stale' (an earlier stage arrived late) or 'duplicate'."""
    script = redis.register_script(_UPDATE)
    result = await script(
        keys=[
            redis_keys.message(customer, sid),
            redis_keys.statuses_seen(customer, sid),
        ],
        args=[
            status,
            RANK.get(status, 0),
            "" if error_code in (None, "") else str(error_code),
            time.time(),
            KEEP_SECONDS,
        ],
    )
    return result.decode() if isinstance(result, bytes) else str(result)


async def handle_callback(redis: Redis, form: Mapping[str, str]) -> str:
    """File one status callback; 21610 in it suppresses the pair."""
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    customer = (form.get("To") or "").strip()
    if not sid or not status or not customer:
        raise InvalidStatus("MessageSid, MessageStatus and To are required")
    if len(sid) > 64 or len(status) > 32:
        raise InvalidStatus("MessageSid or MessageStatus is too long")
    error_code = (form.get("ErrorCode") or "").strip()
    result = await record_status(redis, customer, sid, status, error_code)
    if error_code == "21610" and result != "duplicate":
        business = (form.get("MessagingServiceSid") or form.get("From") or "").strip()
        await suppression.suppress(redis, customer, business or "*", "twilio 21610")
    return result
