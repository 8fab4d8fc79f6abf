"""A turn's replies, kept in Redis until Twilio has every part.

Why: a reply goes out part by part, and anything can stop it in between: a Redis
error, a crash, Twilio refusing sends for a while. So the record of a text's turn
says who started it, and once it ended, the parts it produced. Whoever sends them
later (this worker after a back-off, another replica after a takeover) sends from
the record, and the sender's per-part records keep each part to one send: the turn
never runs a second time to get its replies back.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from connectors.sms_text import SmsPart
from redisio import keys as redis_keys
from redisio import scripts
from redisio.atomic import atomic, pairs

#: How long a reply record is kept: longer than any entry stays queued.
KEEP_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Reply:
    """What is known of one text's turn: who runs it, and its parts once done."""

    customer: str
    key: str  # the MessageSid answered, or "<sid>:dead" for a dead letter's notice
    token: str
    started_at: float
    alive_at: float
    business: str | None
    parts: tuple[SmsPart, ...] | None  # None while the turn runs
    tries: int = 0
    first_failure_at: float | None = None
    retry_at: float | None = None
    last_error: str = ""
    gave_up: bool = False

    def part_id(self, index: int) -> str:
        return f"{self.key}:{index}"

    @classmethod
    def from_hash(cls, customer: str, key: str, raw: dict[str, str]) -> Reply:
        parts = raw.get("parts")
        return cls(
            customer=customer,
            key=key,
            token=raw.get("token", ""),
            started_at=float(raw.get("started_at") or 0),
            alive_at=float(raw.get("alive_at") or 0),
            business=raw.get("business") or None,
            parts=None
            if parts is None
            else tuple(SmsPart(*p) for p in json.loads(parts)),
            tries=int(raw.get("tries") or 0),
            first_failure_at=float(raw["first_failure_at"])
            if raw.get("first_failure_at")
            else None,
            retry_at=float(raw["retry_at"]) if raw.get("retry_at") else None,
            last_error=raw.get("last_error", ""),
            gave_up=bool(raw.get("gave_up")),
        )


def _pairs(flat: list[str]) -> dict[str, str]:
    """HGETALL's answer as a Lua script returns it: a flat list of field, value."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


class ReplyStore:
    def __init__(self, redis: Redis, keep_seconds: int = KEEP_SECONDS) -> None:
        self.redis = redis
        self.keep_seconds = keep_seconds

    async def get(self, customer: str, key: str) -> Reply | None:
        raw = await self.redis.hgetall(redis_keys.reply(customer, key))
        if not raw:
            return None
        return Reply.from_hash(customer, key, raw)

    async def begin(self, customer: str, key: str, token: str) -> bool:
        """Claim the turn for `token`; False if someone started it before."""
        return bool(
            await scripts.REPLY_BEGIN(
                self.redis,
                keys=[redis_keys.reply(customer, key)],
                args=[token, time.time(), self.keep_seconds],
            )
        )

    async def beat(self, customer: str, key: str, token: str) -> bool:
        """The turn `token` runs is still running; False if it is not its turn."""
        return bool(
            await scripts.REPLY_BEAT(
                self.redis,
                keys=[redis_keys.reply(customer, key)],
                args=[token, time.time()],
            )
        )

    async def take_over(self, reply: Reply, token: str, confirm: float) -> bool:
        """Make a silent turn `token`'s once it stayed silent for `confirm`
        seconds after the first call noticed; False until then."""
        return bool(
            await scripts.REPLY_TAKE_OVER(
                self.redis,
                keys=[redis_keys.reply(reply.customer, reply.key)],
                args=[token, time.time(), confirm],
            )
        )

    async def abandon(self, customer: str, key: str, token: str) -> bool:
        """Forget a turn that failed before storing parts, so it can start again."""
        return bool(
            await scripts.REPLY_ABANDON(
                self.redis, keys=[redis_keys.reply(customer, key)], args=[token]
            )
        )

    async def finish(
        self,
        customer: str,
        key: str,
        business: str | None,
        parts: list[SmsPart],
        token: str = "",
    ) -> Reply:
        """Store the turn's parts, unless someone stored them first: theirs win."""
        stored = json.dumps([[p.body, p.encoding, p.segments] for p in parts])
        flat = await scripts.REPLY_FINISH(
            self.redis,
            keys=[redis_keys.reply(customer, key)],
            args=[stored, business or "", token, self.keep_seconds],
        )
        return Reply.from_hash(customer, key, _pairs(flat))

    async def not_taken(
        self, reply: Reply, now: float, retry_at: float, error: str
    ) -> None:
        """A part was not taken: the next try is due at `retry_at`. The first
        failure's time is kept: the retry window counts from it."""
        key = redis_keys.reply(reply.customer, reply.key)
        retry = {"retry_at": retry_at, "tries": reply.tries + 1}
        await atomic(
            self.redis,
            ("HSETNX", key, "first_failure_at", now),
            ("HSET", key, *pairs(retry), "last_error", error[:300]),
            ("EXPIRE", key, self.keep_seconds),
        )

    async def give_up(self, reply: Reply) -> None:
        """Nothing more is sent for this reply, even if its entry is seen again."""
        key = redis_keys.reply(reply.customer, reply.key)
        await atomic(
            self.redis,
            ("HSET", key, "gave_up", 1),
            ("EXPIRE", key, self.keep_seconds),
        )

    async def first_report(self, reply: Reply, index: int) -> bool:
        """True once per part: a failed part is reported to the operator once."""
        key = redis_keys.reply(reply.customer, reply.key)
        first, _ = await atomic(
            self.redis,
            ("HSETNX", key, f"reported:{index}", 1),
            ("EXPIRE", key, self.keep_seconds),
        )
        return bool(first)
