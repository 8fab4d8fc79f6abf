"""One inbox entry, from its turn to its replies handed to Twilio.

The worker (connectors/worker.py) owns the loops and the conversation's lease;
this is what it does with the entry at the head: skip it (the sender opted out
since), send a reply stored before, run the turn (connectors/turns.py) and
deliver its parts (connectors/delivery.py), or, after `max_entry_attempts`
failures, dead-letter it and tell the customer once.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from connectors import failures, suppression
from connectors.delivery import ReplyDelivery
from connectors.inactivity import Inactivity
from connectors.inbox import Entry
from connectors.replies import ReplyStore
from connectors.sender import TwilioSender
from connectors.settings import SmsSettings
from connectors.sms_text import shape_message, shape_turn
from connectors.turn_rules import after_failure
from connectors.turns import (
    Conversations,
    Lease,
    OnNewMessage,
    TurnRunningElsewhere,
    Turns,
)
from redisio import keys as redis_keys
from redisio.atomic import atomic
from stores.contacts import ContactStore

logger = logging.getLogger(__name__)

FAILURES_KEEP_SECONDS = 7 * 24 * 3600  # an entry's failure count (redis_keys)


class EntryHandler:
    def __init__(
        self,
        settings: SmsSettings,
        redis: Redis,
        sender: TwilioSender,
        on_new_message: OnNewMessage,
        conversations: Conversations,
        inactivity: Inactivity | None,
        contacts: ContactStore | None,
        consumer: str,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.consumer = consumer
        self.replies = ReplyStore(redis)
        self.turns = Turns(
            settings,
            redis,
            self.replies,
            on_new_message,
            conversations,
            inactivity,
            contacts,
        )
        self.delivery = ReplyDelivery(settings, redis, sender, self.replies)

    async def process_or_give_up(
        self, lease: Lease, raw: str, entry: Entry
    ) -> float | None:
        """process(), counting its failures: after the last allowed one the entry
        is dead-lettered and the customer told once, so that one bad entry cannot
        stop their conversation for good. A Redis error is not the entry's fault:
        it propagates uncounted and the entry waits for Redis."""
        customer = lease.customer
        key = redis_keys.failures(customer, entry.id)
        limit = self.settings.max_entry_attempts
        failed = int(await self.redis.hget(key, "count") or 0)
        if failed < limit:
            try:
                return await self.process(entry, lease)
            except (RedisError, asyncio.CancelledError):
                raise
            except Exception as err:
                error = f"{type(err).__name__}: {err}"[:500]
                counted, _, _ = await atomic(
                    self.redis,
                    ("HINCRBY", key, "count", 1),
                    ("HSET", key, "error", error),
                    ("EXPIRE", key, FAILURES_KEEP_SECONDS),
                )
                failed = int(counted)
                then = after_failure(
                    failed, limit, time.time(), self.settings.reclaim_after_seconds
                )
                if not then.give_up:
                    logger.exception(
                        "%s: processing failed (attempt %d of %d), will retry",
                        entry.sms.message_sid,
                        failed,
                        limit,
                    )
                    return then.retry_at
                logger.exception(
                    "%s: processing failed %d times: dead letter, failure message",
                    entry.sms.message_sid,
                    failed,
                )
        return await self._give_up(customer, raw, entry, failed)

    async def _give_up(
        self, customer: str, raw: str, entry: Entry, attempts: int
    ) -> float | None:
        """Record the dead letter, then send the failure message (at most once)."""
        sms = entry.sms
        key = f"{sms.message_sid}:dead"
        notice = await self.replies.get(customer, key)
        if notice is None or notice.parts is None:
            error = await self.redis.hget(
                redis_keys.failures(customer, entry.id), "error"
            )
            await failures.dead_letter(
                self.redis,
                customer=customer,
                message_sid=sms.message_sid,
                entry_id=entry.id,
                attempts=attempts,
                error=str(error),
                entry=raw,
            )
            parts = shape_turn([shape_message(self.settings.failure_message)])
            notice = await self.replies.finish(customer, key, sms.to_number, parts)
        return await self.delivery.deliver(notice)

    async def process(self, entry: Entry, lease: Lease | None = None) -> float | None:
        """Run the entry's turn once and send its replies.

        None when done with the entry. Else the time to try again: a part was not
        taken by Twilio and nothing may be sent after it (order), so the entry
        stays at the head. The turn itself is never run again for that: its parts
        are in the reply record.
        """
        sms = entry.sms
        pair = sms.messaging_service_sid or sms.to_number
        if await suppression.is_suppressed(self.redis, sms.from_number, pair):
            logger.info("%s: sender opted out after it was queued", sms.message_sid)
            return None
        reply = await self.replies.get(sms.from_number, sms.message_sid)
        if reply is None or reply.parts is None:
            try:
                reply = await self.turns.reply_for(
                    entry, lease or Lease(sms.from_number, self.consumer)
                )
            except TurnRunningElsewhere as running:
                return running.retry_at
            if reply is None:
                return None
        return await self.delivery.deliver(reply)
