"""Hand-off requests in Redis: who asked for a person, when, and what was said.

Staff read `{handoff}:pending` (one hash per customer) or the `{handoff}:requests`
stream; resuming the bot is Rasa's own `resume` event (see docs/handoff.md).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from redis.asyncio import Redis

from redisio import keys as redis_keys
from redisio.atomic import atomic

# The stream is a log for staff tools; keep it bounded.
STREAM_MAXLEN = 10_000


@dataclass(frozen=True)
class HandoffRequest:
    customer: str
    requested_at: datetime
    channel: str
    # The last messages of the conversation, oldest first: "customer: ..."/"bot: ...".
    last_messages: tuple[str, ...]


class HandoffStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def record(self, request: HandoffRequest) -> None:
        payload = asdict(request)
        payload["requested_at"] = request.requested_at.isoformat()
        payload["last_messages"] = list(request.last_messages)
        encoded = json.dumps(payload)
        await atomic(
            self._redis,
            ("HSET", redis_keys.HANDOFF_PENDING, request.customer, encoded),
            ("XADD", redis_keys.HANDOFF_REQUESTS, "MAXLEN", "~", STREAM_MAXLEN, "*")
            + ("customer", request.customer, "request", encoded),
        )

    async def pending(self, customer: str) -> HandoffRequest | None:
        raw = await self._redis.hget(redis_keys.HANDOFF_PENDING, customer)
        if raw is None:
            return None
        data = json.loads(raw)
        return HandoffRequest(
            customer=data["customer"],
            requested_at=datetime.fromisoformat(data["requested_at"]),
            channel=data["channel"],
            last_messages=tuple(data["last_messages"]),
        )
