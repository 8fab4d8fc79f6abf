"""Sending a stored reply: the parts Twilio does not have yet, in order.

Why a policy of its own: a part Twilio certainly did not take (20429s, no
connection, Redis down before the request) is kept and retried with backoff for a
bounded time, so a storm or an outage delays replies instead of losing them; a
part sent without an answer (timeout, 5xx) may have arrived and is never sent
again; whatever the customer did not (or may not) get is logged and put on record
for the operator (`make failed-sends`), once.
"""

from __future__ import annotations

import logging
import random
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from connectors import failures
from connectors.replies import Reply, ReplyStore
from connectors.sender import SendResult, TwilioSender
from connectors.settings import SmsSettings

logger = logging.getLogger(__name__)


class ReplyDelivery:
    def __init__(
        self,
        settings: SmsSettings,
        redis: Redis,
        sender: TwilioSender,
        replies: ReplyStore,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.sender = sender
        self.replies = replies

    async def deliver(self, reply: Reply) -> float | None:
        """Send the parts Twilio does not have yet, in order.

        None when the reply is done with (sent, or given up and on record); else
        when to try again. Retried: only parts Twilio certainly did not take
        (20429s, no connection, Redis down before the request). A part whose
        send ended without an answer (timeout, 5xx) may have arrived: it is not
        sent again but reported as `unknown`, and the next parts go on.
        """
        if reply.gave_up:
            return None
        now = time.time()
        if reply.retry_at is not None and reply.retry_at > now:
            return reply.retry_at
        parts = reply.parts or ()
        for index, part in enumerate(parts):
            result = await self.sender.send(
                reply.customer, reply.business, part, reply.part_id(index)
            )
            if result.retryable:
                return await self._not_taken(reply, index, result)
            if result.status in ("unknown", "failed"):  # reported once (_report)
                outcome = "unknown" if result.status == "unknown" else "undeliverable"
                await self._report(reply, index, outcome, _reason(result), result)
        return None

    async def _not_taken(
        self, reply: Reply, index: int, result: SendResult
    ) -> float | None:
        """Retry later with backoff, or, past the retry window, give up on record."""
        now = time.time()
        first = reply.first_failure_at or now
        parts = reply.parts or ()
        if now - first >= self.settings.reply_retry_seconds:
            reason = f"not taken for {now - first:.0f} s: {_reason(result)}"
            for later in range(index, len(parts)):
                await self._report(reply, later, "undeliverable", reason, result)
            await self.replies.give_up(reply)
            return None
        delay = retry_delay(
            reply.tries + 1, self.settings.reply_retry_max_interval_seconds
        )
        await self.replies.not_taken(reply, now, now + delay, _reason(result))
        logger.warning(
            "%s: part %d of %d not taken (%s), try %d again in %.1f s",
            reply.key,
            index + 1,
            len(parts),
            _logged(result),
            reply.tries + 1,
            delay,
        )
        return now + delay

    async def _report(
        self, reply: Reply, index: int, outcome: str, reason: str, result: SendResult
    ) -> None:
        """Log and record one part the customer did not (or may not) get, once.

        The log line names the reply (the inbound MessageSid), never the number
        or the text; the record (make failed-sends) names the conversation.
        """
        parts = len(reply.parts or ())
        if not await self.replies.first_report(reply, index):
            return
        logger.warning(
            "%s: part %d of %d %s (%s)",
            reply.key,
            index + 1,
            parts,
            outcome,
            _logged(result),
        )
        try:
            await failures.failed_send(
                self.redis,
                customer=reply.customer,
                reply=reply.key,
                part=index + 1,
                parts=parts,
                outcome=outcome,
                reason=reason,
                error_code=result.error_code,
            )
        except RedisError as err:
            logger.error("%s: could not record the failed send: %s", reply.key, err)


def retry_delay(tries: int, cap: float) -> float:
    """1 s, 2 s, 4 s... up to `cap`, jittered so that a storm's many retries spread."""
    delay = min(cap, 2.0 ** (tries - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def _reason(result: SendResult) -> str:
    if result.error_code is not None:
        return f"{result.error_code} {result.error_message or ''}".strip()
    return result.error_message or result.status


def _logged(result: SendResult) -> str:
    """The reason as logged: Twilio's code alone, its message can quote the number."""
    if result.error_code is not None:
        return f"Twilio error {result.error_code}"
    return result.error_message or result.status
