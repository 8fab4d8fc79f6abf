"""Delivery status of outbound texts: forward-only, deduped, one Lua call each.

Twilio posts several callbacks per message, possibly twice and out of order; a late
`sent` must never overwrite `delivered`. Each status is recorded once (a set per
message), and the current status only moves to a later stage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from connectors import suppression
from redisio import keys as redis_keys
from redisio import scripts

if TYPE_CHECKING:
    from analytics.counters import Counters

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
OPTED_OUT = "21610"  # Twilio: the customer replied STOP to this sender


class InvalidStatus(ValueError):
    """A status callback without the fields needed to file it."""


async def record_status(
    redis: Redis,
    customer: str,
    sid: str,
    status: str,
    error_code: str | int | None = None,
    opt_out: str | None = None,
    reason: str = "twilio 21610",
    counters: Counters | None = None,
    line: str = "",
) -> str:
    """'updated', 'stale' (an earlier stage arrived late) or 'duplicate'.

    `opt_out`: the business number (or "*") the customer is opted out of, in the
    same script, so a status is never filed without the opt-out it carries.
    `counters`: a final status that moved the message on is counted for `line`
    (only then, so a repeated callback is not counted again).
    """
    result = await scripts.STATUS_UPDATE(
        redis,
        keys=[
            redis_keys.message(customer, sid),
            redis_keys.statuses_seen(customer, sid),
            redis_keys.opt_out(customer),
            redis_keys.opt_out_log(customer),
        ],
        args=[
            status,
            RANK.get(status, 0),
            "" if error_code in (None, "") else str(error_code),
            time.time(),
            KEEP_SECONDS,
            opt_out or "",
            suppression.opt_out_record(reason) if opt_out else "",
        ],
    )
    if str(result) == "updated" and counters is not None and line:
        await counters.delivery(line, status, str(error_code or "") or None)
    return str(result)


async def handle_callback(
    redis: Redis, form: Mapping[str, str], counters: Counters | None = None
) -> str:
    """File one status callback; 21610 in it suppresses the pair, atomically."""
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    customer = (form.get("To") or "").strip()
    if not sid or not status or not customer:
        raise InvalidStatus("MessageSid, MessageStatus and To are required")
    if len(sid) > 64 or len(status) > 32:
        raise InvalidStatus("MessageSid or MessageStatus is too long")
    error_code = (form.get("ErrorCode") or "").strip()
    # The sender's line: its Messaging Service, else the number it sent from.
    business = (form.get("MessagingServiceSid") or form.get("From") or "").strip()
    opt_out = (business or "*") if error_code == OPTED_OUT else None
    return await record_status(
        redis,
        customer,
        sid,
        status,
        error_code,
        opt_out,
        counters=counters,
        line=business[:64],
    )
