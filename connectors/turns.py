"""One Rasa turn per text, whichever replica runs it, and what goes into it.

A text's turn is claimed in its reply record before it runs and its parts stored
when it ends (connectors/replies.py), so that a worker finding the turn started
elsewhere never runs it a second time: it sends the stored parts, or the replies
Rasa's tracker has, or waits while the turn's worker is alive. Only a turn whose
worker went silent before Rasa saved it is run again. The turn's input is built
here too: a numbered pick becomes its payload, media-only texts an intent, a known
contact goes into the metadata.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from rasa.core.channels.channel import UserMessage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from analytics import metrics
from connectors import turn_errors
from connectors.inactivity import Inactivity
from connectors.inbox import Entry
from connectors.output import SmsOutput
from connectors.replies import Reply, ReplyStore
from connectors.settings import SmsSettings
from connectors.sms_text import shape_message, shape_turn
from connectors.turn_rules import (
    Resume,
    Start,
    contact_metadata,
    how_to_start,
    options_offered,
    resume_started_turn,
    text_for_turn,
    with_failure_message,
)
from redisio import keys as redis_keys
from replytext.options import Option
from stores.contacts import Contact, ContactStore

logger = logging.getLogger(__name__)

OPTIONS_TTL = 24 * 3600

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass
class Lease:
    """One drain's hold on a conversation. Its keeper renews it and, while a turn
    runs, tells the turn's record that the turn is alive."""

    customer: str
    token: str
    turn: str | None = None  # the MessageSid whose turn runs now
    lost: bool = False


class TurnRunningElsewhere(Exception):
    """Another worker runs this entry's turn and is alive: wait for its parts."""

    def __init__(self, retry_at: float) -> None:
        super().__init__(retry_at)
        self.retry_at = retry_at


class Conversations(Protocol):
    async def has_active_session(self, customer: str) -> bool: ...

    async def session_expired(self, customer: str) -> bool: ...

    async def start_session(self, customer: str, output: SmsOutput) -> None: ...

    async def record_inactivity_warning(self, customer: str, text: str) -> bool: ...

    async def replies_to(
        self, customer: str, message_sid: str
    ) -> list[tuple[str, list[dict[str, Any]]]] | None: ...


class Turns:
    def __init__(
        self,
        settings: SmsSettings,
        redis: Redis,
        replies: ReplyStore,
        on_new_message: OnNewMessage,
        conversations: Conversations,
        inactivity: Inactivity | None = None,
        contacts: ContactStore | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.replies = replies
        self.on_new_message = on_new_message
        self.conversations = conversations
        self.inactivity = inactivity
        self.contacts = contacts
        # A turn whose worker gave no sign of life for this long, and then again
        # for as long once that was noticed, is taken over (unless Rasa's tracker
        # has it: then it ran, and is not run again).
        self.stale_after = settings.owner_lease_seconds

    async def reply_for(self, entry: Entry, lease: Lease) -> Reply | None:
        """The entry's reply parts, stored before the first is sent; None: no turn.

        Raises TurnRunningElsewhere while another worker runs the turn.
        """
        sms = entry.sms
        token = lease.token
        start = how_to_start(
            entry.kind,
            self.settings.initiate_from_inbound,
            self.settings.initiate_from_inbound
            or await self.conversations.has_active_session(sms.from_number),
        )
        if start is Start.HELP:
            return await self.store(entry, [shape_message(self.settings.help_message)])
        if start is Start.CANCEL_HINT:
            hint = self.settings.cancel_hint_message
            return await self.store(entry, [shape_message(hint)])
        if start is Start.NONE:
            logger.info(
                "%s: no active session, no turn (initiate_from_inbound off)",
                sms.message_sid,
            )
            return None
        if not await self.replies.begin(sms.from_number, sms.message_sid, token):
            reply = await self._started_before(entry, token)
            if reply is not None:
                return reply
        lease.turn = sms.message_sid
        try:
            texts = await self._run_turn(entry)
        except BaseException:
            await self._abandon(entry, token)
            raise
        finally:
            lease.turn = None
        return await self.store(entry, texts, token)

    async def _started_before(self, entry: Entry, token: str) -> Reply | None:
        """This entry's turn was started by another worker (or an earlier try).

        Never run a turn twice: if it ended, its parts (or Rasa's tracker) give
        the replies; if its worker is alive, wait for them. Only a turn whose
        worker stopped before Rasa saved it is run here (None).
        """
        sms = entry.sms
        customer, sid = sms.from_number, sms.message_sid
        record = await self.replies.get(customer, sid)
        parts_stored = record is not None and record.parts is not None
        done = (
            None if parts_stored else await self.conversations.replies_to(customer, sid)
        )
        silent = 0.0 if record is None else time.time() - record.alive_at
        step = resume_started_turn(
            parts_stored=parts_stored,
            in_tracker=done is not None,
            record_exists=record is not None,
            silent_seconds=silent,
            stale_after=self.stale_after,
            reclaim_after=self.settings.reclaim_after_seconds,
        )
        if step.action is Resume.SEND_STORED:
            return record
        if step.action is Resume.SEND_FROM_TRACKER:
            logger.info("%s: its turn ran before, sending the replies it made", sid)
            texts = [shape_message(text, buttons) for text, buttons in done or ()]
            return await self.store(entry, texts, token)
        if step.action is Resume.START:  # abandoned since: start it afresh
            if await self.replies.begin(customer, sid, token):
                return None
            raise TurnRunningElsewhere(time.time())
        assert record is not None  # WAIT and TAKE_OVER are about a record
        if step.action is Resume.WAIT or not await self.replies.take_over(
            record, token, self.stale_after
        ):
            logger.info("%s: its turn runs on another worker, waiting for it", sid)
            raise TurnRunningElsewhere(time.time() + step.wait_seconds)
        logger.warning(
            "%s: the worker running its turn gave no sign for %.0f s and the turn "
            "was not saved: running it here",
            sid,
            silent,
        )
        return None

    async def _abandon(self, entry: Entry, token: str) -> None:
        """A turn that failed or was cancelled before storing its parts: let the
        next attempt start it at once (Rasa's tracker tells if it had run)."""
        try:
            await asyncio.wait_for(
                self.replies.abandon(
                    entry.sms.from_number, entry.sms.message_sid, token
                ),
                1.0,
            )
        except Exception as err:  # the record then goes stale, and is taken over
            # The error's type only: its text may quote what it was given.
            logger.warning(
                "%s: could not release its turn: %s", entry.id, type(err).__name__
            )

    async def store(self, entry: Entry, texts: list[str], token: str = "") -> Reply:
        parts = shape_turn(
            texts,
            max_length=self.settings.max_message_length,
            max_parts=self.settings.max_parts_per_turn,
        )
        sms = entry.sms
        return await self.replies.finish(
            sms.from_number, sms.message_sid, sms.to_number, parts, token
        )

    async def _run_turn(self, entry: Entry) -> list[str]:
        """One Rasa turn; its texts, with the failure message if the turn failed."""
        sms = entry.sms
        pair = sms.messaging_service_sid or sms.to_number
        output = SmsOutput()
        if (
            self.inactivity is not None
            and await self.inactivity.is_closed(sms.from_number)
            and not await self.conversations.session_expired(sms.from_number)
        ):
            # Closed for inactivity: a new session, greeting first. (Had Rasa's own
            # expiry passed, Rasa would start one itself.)
            await self.conversations.start_session(sms.from_number, output)
        text = await self._text_for_turn(sms.from_number, sms.body, bool(sms.media))
        message = UserMessage(
            text,
            output,
            sms.from_number,
            input_channel="twilio_sms",
            message_id=sms.message_sid,
            metadata={**sms.metadata(), **await self._contact(sms.from_number)},
        )
        failed = False
        with turn_errors.watching() as errors, metrics.TURN_SECONDS.time():
            try:
                await self.on_new_message(message)
            except RedisError:
                # The tracker or lock store is down: no turn happened. Keep the
                # entry queued; the sweeper retries once Redis answers again.
                raise
            except Exception:
                logger.exception("turn for %s failed", sms.message_sid)
                failed = True
        texts = with_failure_message(
            output.texts,
            failed or bool(errors),
            shape_message(self.settings.failure_message),
        )
        await self._remember_options(sms.from_number, output.buttons)
        if self.inactivity is not None and self.inactivity.enabled:
            await self.inactivity.engaged(sms.from_number, sms.to_number, pair)
        return texts

    async def _contact(self, customer: str) -> dict[str, Any]:
        """The matched contact for the message metadata: action_session_start greets
        a known number by name. Auto-creation records every new number."""
        if self.contacts is None or not (
            self.settings.contact_matching or self.settings.auto_create_contacts
        ):
            return {}
        contact: Contact | None
        if self.settings.auto_create_contacts:
            contact, created = await self.contacts.create_if_missing(customer, "sms")
            if created:
                logger.info("new contact %s (auto_create_contacts)", customer)
        else:
            contact = await self.contacts.get(customer)
        if contact is None or not self.settings.contact_matching:
            return {}
        return contact_metadata(
            contact.name, contact.email, contact.tags, contact.source
        )

    async def _text_for_turn(self, customer: str, body: str, has_media: bool) -> str:
        """The text Rasa sees: the body, a numbered pick as its payload, or media."""
        offered: list[Option] = []
        if body.strip():
            raw = await self.redis.get(redis_keys.options(customer))
            offered = options_offered(json.loads(raw)) if raw else []
        return text_for_turn(body, has_media, offered)

    async def _remember_options(
        self, customer: str, buttons: list[dict[str, Any]]
    ) -> None:
        key = redis_keys.options(customer)
        options = [
            {"title": o.title, "payload": o.payload} for o in options_offered(buttons)
        ]
        if options:
            await self.redis.set(key, json.dumps(options), ex=OPTIONS_TTL)
        else:
            await self.redis.delete(key)
