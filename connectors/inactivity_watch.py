"""The inactivity watcher: warns a quiet engaged conversation once, then closes
it if no reply comes (the schedule and its claims: connectors/inactivity.py).

Each replica runs one (connectors/worker.py); a claim in Redis makes each warning
and each close happen on one replica only.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis

from connectors import suppression
from connectors.inactivity import Inactivity
from connectors.sender import TwilioSender
from connectors.settings import SmsSettings
from connectors.sms_text import shape_message, shape_turn
from connectors.turns import Conversations
from redisio import keys as redis_keys

logger = logging.getLogger(__name__)


class InactivityWatcher:
    def __init__(
        self,
        settings: SmsSettings,
        redis: Redis,
        inactivity: Inactivity,
        conversations: Conversations,
        sender: TwilioSender,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.inactivity = inactivity
        self.conversations = conversations
        self.sender = sender

    async def tick(self) -> None:
        """Warn every conversation due a warning, close every one due a close."""
        now = time.time()
        for customer in await self.inactivity.due(redis_keys.INACTIVITY_WARN, now):
            if await self.inactivity.claim(redis_keys.INACTIVITY_WARN, customer, now):
                await self._warn_idle(customer)
        for customer in await self.inactivity.due(redis_keys.INACTIVITY_CLOSE, now):
            if await self.inactivity.claim(redis_keys.INACTIVITY_CLOSE, customer, now):
                await self.inactivity.closed(customer)
                logger.info("%s: no reply to the inactivity warning, closed", customer)

    async def _warn_idle(self, customer: str) -> None:
        """One warning, from the number the customer texted, recorded in the tracker.

        Recorded as Rasa records a reminder (an external user event plus the bot's
        text), which also restarts Rasa's session clock: a reply within the grace
        period continues the same session, form and slots included.
        """
        idle = await self.inactivity.get(customer)
        if idle is None:
            return
        if await suppression.is_suppressed(self.redis, customer, idle.pair):
            logger.info("%s opted out: no inactivity warning", customer)
            await self.inactivity.forget(customer)
            return
        text = self.settings.inactivity_warning_message
        if not await self.conversations.record_inactivity_warning(customer, text):
            logger.info(
                "%s: paused or no conversation, no inactivity warning", customer
            )
            await self.inactivity.forget(customer)
            return
        await self.inactivity.warned(customer)
        if self.sender.counters is not None:
            await self.sender.counters.add(idle.pair, {"inactivity_warnings": 1})
        await self._send(customer, idle.business_number, [shape_message(text)])

    async def _send(
        self, customer: str, business_number: str, texts: list[str]
    ) -> None:
        """Best effort, no reply record: the inactivity warning is at most once by
        design (inactivity.py), and the sender logs a send that failed."""
        parts = shape_turn(
            texts,
            max_length=self.settings.max_message_length,
            max_parts=self.settings.max_parts_per_turn,
        )
        for part in parts:
            await self.sender.send(customer, business_number, part)
