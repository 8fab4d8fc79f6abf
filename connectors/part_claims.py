"""A reply part's send record in Redis: claimed ("sending:<token>:<epoch>") for
each request, "pending" when Twilio certainly did not take it, the result after.

A claim this sender could not settle (Redis timed out) is not another sender's:
this process knows what became of it. Without remembering that, the part's next
try would find a young "sending" claim and wait out a whole send timeout before
asking Twilio, although nothing is in flight.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from redis.asyncio import Redis

from redisio import keys as redis_keys
from redisio import scripts

logger = logging.getLogger(__name__)

#: How long a part's send record is kept: longer than any entry stays queued.
PART_KEEP_SECONDS = 7 * 24 * 3600
SENDING, PENDING = "sending", "pending"
#: Parts with an unsettled claim remembered per process; past this the oldest is
#: forgotten (its next try then waits the claim out, as another sender would).
UNSETTLED_KEPT = 10_000


def claimed_at(text: str) -> float | None:
    """When a "sending:<token>:<epoch>" claim was taken; None for a result."""
    if not text.startswith(SENDING + ":"):
        return None
    try:
        return float(text.rsplit(":", 1)[1])
    except ValueError:
        return 0.0  # an old-format claim: its time is unknown, treat it as stale


@dataclass(frozen=True)
class Unsettled:
    """What a part's record may still hold of this sender's claims."""

    #: The claim whose request went out, and that request's result (JSON).
    sent_claim: str = ""
    outcome: str = ""
    #: Claims whose request never went out: free to take over.
    unsent: tuple[str, ...] = ()

    def with_unsent(self, claim: str) -> Unsettled:
        return Unsettled(self.sent_claim, self.outcome, (*self.unsent, claim)[-8:])


class UnsettledClaims:
    """Per process, bounded: part record key -> Unsettled."""

    def __init__(self, kept: int = UNSETTLED_KEPT) -> None:
        self._kept = kept
        self._by_key: OrderedDict[str, Unsettled] = OrderedDict()

    def pop(self, key: str) -> Unsettled | None:
        return self._by_key.pop(key, None)

    def put(self, key: str, unsettled: Unsettled) -> None:
        self._by_key[key] = unsettled
        self._by_key.move_to_end(key)
        while len(self._by_key) > self._kept:
            self._by_key.popitem(last=False)

    def __len__(self) -> int:
        return len(self._by_key)


class PartClaim:
    """The right to send one part once: its record, held as "sending:<token>"."""

    def __init__(
        self, redis: Redis, to: str, part_id: str, unsettled: UnsettledClaims
    ) -> None:
        self.redis = redis
        self.part_id = part_id  # what logs name: the key holds the number
        self.key = redis_keys.part_sent(to, part_id)
        self.token = f"{SENDING}:{uuid.uuid4().hex}:{time.time():.3f}"
        self._unsettled = unsettled
        self._earlier = unsettled.pop(self.key) or Unsettled()

    async def take(self) -> str | None:
        """None when this request may go; else the part's record (a result
        this sender could not settle before comes back as that result)."""
        earlier = self._earlier
        try:
            state = await scripts.PART_CLAIM(
                self.redis,
                keys=[self.key],
                args=[
                    self.token,
                    PENDING,
                    PART_KEEP_SECONDS,
                    earlier.sent_claim,
                    earlier.outcome,
                    *earlier.unsent,
                ],
            )
        except Exception:
            # The script may have run: the record may be this claim now, and no
            # request went out for it.
            self._earlier = earlier.with_unsent(self.token)
            self._unsettled.put(self.key, self._earlier)
            raise
        # The record moved past every earlier claim of ours.
        self._earlier = Unsettled()
        self._unsettled.pop(self.key)
        return state

    async def replace(self, stale: str, value: str) -> bool:
        """Overwrite a dead sender's claim, only if it is still that claim."""
        return bool(
            await scripts.PART_REPLACE(
                self.redis, keys=[self.key], args=[stale, value, PART_KEEP_SECONDS]
            )
        )

    async def settle(self, value: str) -> bool:
        """Record how our request ended (PENDING: Twilio does not have it).

        Failing to leaves "sending": never sent again by another sender, and
        this sender remembers the outcome for the part's next try here.
        """
        try:
            await scripts.PART_SETTLE(
                self.redis, keys=[self.key], args=[self.token, value, PART_KEEP_SECONDS]
            )
            return True
        except Exception as err:
            logger.warning("could not record the send of %s: %r", self.part_id, err)
            if value == PENDING:
                remembered = self._earlier.with_unsent(self.token)
            else:  # the request went out: the record may hold it as this claim
                remembered = Unsettled(self.token, value, self._earlier.unsent)
            self._earlier = remembered
            self._unsettled.put(self.key, remembered)
            return False
