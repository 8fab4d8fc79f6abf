"""What the SMS channel gave up on, kept for an operator: `make failed-sends`.

Two records: replies that could not be delivered (Twilio refused for longer than
the retry window, refused for good, or an outcome nobody knows), and dead letters
(inbox entries whose processing failed every attempt). Each is one JSON object in
a global list, newest first. Global keys take single-key commands only (see
redis_keys.py); a record names its conversation, so the conversation's own keys
(messages, the reply record) are one look-up away.

Bounded: each list keeps its newest `CAP` records and expires `KEEP_SECONDS` after
its last one. Records hold no message text; a dead letter keeps the entry itself
(the text to process again) and the tool shows it only when asked.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis.asyncio import Redis

from redisio import keys as redis_keys
from redisio.atomic import atomic

CAP = 10_000
KEEP_SECONDS = 30 * 24 * 3600


async def _push(redis: Redis, key: str, record: dict[str, Any]) -> None:
    await atomic(
        redis,
        ("LPUSH", key, json.dumps({"at": time.time(), **record})),
        ("LTRIM", key, 0, CAP - 1),
        ("EXPIRE", key, KEEP_SECONDS),
    )


async def failed_send(
    redis: Redis,
    *,
    customer: str,
    reply: str,
    part: int,
    parts: int,
    outcome: str,
    reason: str,
    error_code: int | None = None,
) -> None:
    """One part that did not reach Twilio, or may not have.

    `outcome`: "undeliverable" (not taken, retries used up or refused for good)
    or "unknown" (sent without an answer: it may have arrived; never re-sent).
    """
    await _push(
        redis,
        redis_keys.FAILED_SENDS,
        {
            "customer": customer,
            "reply": reply,
            "part": part,
            "parts": parts,
            "outcome": outcome,
            "reason": reason,
            "error_code": error_code,
        },
    )


async def dead_letter(
    redis: Redis,
    *,
    customer: str,
    message_sid: str,
    entry_id: str,
    attempts: int,
    error: str,
    entry: str,
) -> None:
    """An inbox entry taken off the queue after its last failed attempt."""
    await _push(
        redis,
        redis_keys.DEAD_LETTERS,
        {
            "customer": customer,
            "message_sid": message_sid,
            "entry_id": entry_id,
            "attempts": attempts,
            "error": error,
            "entry": entry,
        },
    )


async def newest(redis: Redis, key: str, limit: int = 100) -> list[dict[str, Any]]:
    """The newest `limit` records of one list; unreadable ones are shown as such."""
    records = []
    for raw in await redis.lrange(key, 0, max(limit, 1) - 1):
        try:
            records.append(json.loads(raw))
        except ValueError:
            records.append({"unreadable": len(raw)})
    return records
