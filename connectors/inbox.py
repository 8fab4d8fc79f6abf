"""The durable inbox: accept a text in one atomic step, hand it out one at a time.

Why this shape: the webhook must answer Twilio within 15 s whatever the bot does, so
it only stores the text and returns. Storage is one Lua call per text that dedupes
on MessageSid, applies STOP/START, and appends to the customer's own queue, so a
retried or concurrent delivery can never make two turns, and a STOP can never be
half-applied. A MessageSid is remembered for the dedupe window (30 days by
default: a validly signed webhook can be captured and posted again), and the SIDs
of STOP/START words beyond it, so that a replay never changes who is opted out. A conversation's queue is drained by one worker at a time (an owner
key with a renewed lease) head first, and an entry leaves the queue only after its
replies were handed to Twilio: a crash mid-turn leaves it at the head, and a sweep
gives it to another worker once the lease ran out.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from connectors.inbound import InboundSms, Media
from connectors.keywords import Keyword
from redisio import keys as redis_keys
from redisio import scripts

#: Opt-out/opt-in MessageSids kept per customer (the newest), for replays.
KEYWORD_SIDS_KEPT = 1000


class Outcome(str, enum.Enum):
    """What the webhook did with a text; every outcome answers Twilio 200."""

    QUEUED = "queued"  # a bot turn will run
    HELP = "help"  # the help text will be sent, no bot turn
    DUPLICATE = "duplicate"  # this MessageSid was already accepted
    OPTED_OUT = "opted_out"  # STOP and friends: suppressed from now on
    OPTED_IN = "opted_in"  # START/YES/UNSTOP from an opted-out number
    # ...that a bare CANCEL had opted out: told how to cancel an appointment
    OPTED_IN_HINT = "opted_in_hint"
    SUPPRESSED = "suppressed"  # any other text from an opted-out number: dropped

    @property
    def wakes_worker(self) -> bool:
        return self in (Outcome.QUEUED, Outcome.HELP, Outcome.OPTED_IN_HINT)


@dataclass(frozen=True)
class Entry:
    """One queued unit of work for a conversation."""

    id: str
    kind: str  # "message", "help" or "cancel_hint"
    sms: InboundSms
    accepted_at: float

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "kind": self.kind,
                "sms": dataclasses.asdict(self.sms),
                "accepted_at": self.accepted_at,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Entry:
        data = json.loads(raw)
        sms: dict[str, Any] = dict(data["sms"])
        sms["media"] = tuple(Media(**m) for m in sms.get("media") or ())
        return cls(
            id=data["id"],
            kind=data["kind"],
            sms=InboundSms(**sms),
            accepted_at=float(data["accepted_at"]),
        )


def _log_record(change: str, word: str) -> str:
    return json.dumps({"at": time.time(), "change": change, "word": word})


class Inbox:
    def __init__(self, redis: Redis, dedupe_seconds: int) -> None:
        self.redis = redis
        self.dedupe_seconds = dedupe_seconds

    async def accept(
        self, sms: InboundSms, keyword: Keyword | None, hint_after: str = ""
    ) -> Outcome:
        """Store the text durably, or record that it needs no turn; atomic per text.

        `hint_after`: an opt-out word (CANCEL) whose opt-out, undone by this text,
        queues a "cancel_hint" entry (how to cancel an appointment instead)."""
        customer = sms.from_number
        pair = sms.messaging_service_sid or sms.to_number
        word = (
            {
                Keyword.OPT_OUT: "opt_out",
                Keyword.OPT_IN: "opt_in",
                Keyword.HELP: "help",
            }.get(keyword, "")
            if keyword
            else ""
        )
        now = time.time()
        # Only a HELP from a subscribed number is queued as "help"; anything else
        # that gets queued at all is a message for the bot.
        kind = "help" if word == "help" else "message"
        entry = Entry(uuid.uuid4().hex, kind, sms, now).to_json()
        hint = Entry(uuid.uuid4().hex, "cancel_hint", sms, now).to_json()
        bare = sms.body.strip().upper()
        # The work index first: if this process dies after the Lua call, the sweep
        # still finds the queue.
        await self.redis.zadd(redis_keys.WORK, {customer: now}, nx=True)
        result = await scripts.INBOX_ACCEPT(
            self.redis,
            keys=[
                redis_keys.seen(customer, sms.message_sid),
                redis_keys.queue(customer),
                redis_keys.opt_out(customer),
                redis_keys.opt_out_log(customer),
                redis_keys.keyword_sids(customer),
            ],
            args=[
                self.dedupe_seconds,
                word,
                pair,
                entry,
                _log_record("opt_out", bare),
                _log_record("opt_in", bare),
                sms.message_sid,
                now,
                KEYWORD_SIDS_KEPT,
                hint_after,
                hint,
            ],
        )
        outcome = Outcome(result)
        if outcome.wakes_worker:
            # Indexed again after the Lua call: a worker's forget_if_idle that
            # removed the conversation before this text was queued cannot leave it
            # out of the index (see forget_if_idle).
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zadd(redis_keys.WORK, {customer: now}, nx=True)
                pipe.xadd(redis_keys.READY, {"customer": customer}, maxlen=100_000)
                await pipe.execute()
        return outcome

    # --- draining one conversation -----------------------------------------

    async def acquire(self, customer: str, token: str, lease_ms: int) -> bool:
        return bool(
            await self.redis.set(
                redis_keys.owner(customer), token, nx=True, px=lease_ms
            )
        )

    async def renew(self, customer: str, token: str, lease_ms: int) -> bool:
        return bool(
            await scripts.INBOX_RENEW(
                self.redis, keys=[redis_keys.owner(customer)], args=[token, lease_ms]
            )
        )

    async def release(self, customer: str, token: str) -> int:
        """Give the conversation up; returns how many entries are still waiting."""
        return int(
            await scripts.INBOX_RELEASE(
                self.redis,
                keys=[redis_keys.owner(customer), redis_keys.queue(customer)],
                args=[token],
            )
        )

    async def head(self, customer: str) -> tuple[str, Entry | None] | None:
        """The oldest entry as stored and parsed; None for an empty queue. An entry
        that cannot be parsed comes back as (raw, None), for the caller to drop."""
        raw = await self.redis.lindex(redis_keys.queue(customer), 0)
        if raw is None:
            return None
        try:
            return raw, Entry.from_json(raw)
        except (ValueError, KeyError, TypeError):
            return raw, None

    async def drop_head(self, customer: str, raw: str) -> bool:
        """Remove the entry once done; a no-op if someone else already did."""
        return bool(
            await scripts.INBOX_ACK(
                self.redis, keys=[redis_keys.queue(customer)], args=[raw]
            )
        )

    async def waiting(self, older_than: float, limit: int = 100) -> list[str]:
        """Conversations that had work queued before `older_than` (epoch seconds)."""
        found = await self.redis.zrangebyscore(
            redis_keys.WORK, "-inf", older_than, start=0, num=limit
        )
        return list(found)

    async def forget_if_idle(self, customer: str) -> None:
        """Drop a conversation from the work index when its queue is empty.

        Remove first, then look: the index is a global key, so it cannot share a
        Lua call with the conversation's keys (one cluster slot per call), and the
        order does the job instead. accept() queues the text (Lua) and only then
        indexes it, so either its ZADD comes after this ZREM, or its text was
        queued before the check below sees the queue and puts the index back.
        Either way a queued text stays where the sweeper looks.
        """
        await self.redis.zrem(redis_keys.WORK, customer)
        if await self.redis.exists(
            redis_keys.queue(customer), redis_keys.owner(customer)
        ):
            await self.redis.zadd(redis_keys.WORK, {customer: time.time()}, nx=True)

    async def touch(self, customer: str) -> None:
        await self.redis.zadd(redis_keys.WORK, {customer: time.time()}, xx=True)

    async def defer(self, customer: str, score: float) -> None:
        """Have the sweeper come back to a conversation later: its work index
        score is when it last got attention, and the sweep looks at old ones."""
        await self.redis.zadd(redis_keys.WORK, {customer: score})
