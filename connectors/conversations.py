"""What the worker asks of Rasa's conversations outside a normal turn.

Kept apart from the worker so that the worker needs only these few questions and
commands, and the answers come from whatever tracker and lock stores
`endpoints.yml` configures. Anything that changes a tracker holds Rasa's lock for
the conversation, as Rasa's own HTTP API does.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rasa.core.actions.action import action_for_name_or_text
from rasa.core.channels.channel import OutputChannel
from rasa.core.policies.policy import PolicyPrediction
from rasa.shared.core.constants import (
    ACTION_LISTEN_NAME,
    ACTION_SESSION_START_NAME,
    SESSION_START_METADATA_SLOT,
)
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationResumed,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from connectors import compat
from connectors.output import SmsOutput
from connectors.sms_text import shape_message

#: The external intent a warning is recorded under (as Rasa records reminders).
INACTIVITY_INTENT = "inactivity_warning"
#: The external intent a business-started text is recorded under: it restarts
#: Rasa's session clock (which counts from the last user event), so the reply
#: continues this session instead of starting another.
OUTBOUND_INTENT = "outbound_message"
EXTERNAL_PREFIX = "EXTERNAL: "


class Paused(Exception):
    """The conversation is with a person (hand-off): the bot must not start one."""


class NothingToSay(Exception):
    """The template's action said nothing (e.g. no upcoming appointment)."""


#: Sends the texts of a business-started message; True if Twilio took the first.
SendOutbound = Callable[[list[str]], Awaitable[bool]]


class RasaConversations:
    def __init__(self, app: Sanic) -> None:
        self.app = app

    async def _tracker(self, customer: str) -> Any:
        agent = getattr(self.app.ctx, "agent", None)
        if agent is None or agent.tracker_store is None:
            return None
        return await agent.tracker_store.retrieve(customer)

    async def business_number(self, customer: str) -> str | None:
        """The number the customer last texted (their latest text's metadata), so
        what the business sends comes from the number they know."""
        tracker = await self._tracker(customer)
        for event in reversed(tracker.events if tracker is not None else []):
            if isinstance(event, UserUttered) and (event.metadata or {}).get("to"):
                return str(event.metadata["to"])
        return None

    async def has_active_session(self, customer: str) -> bool:
        """Someone spoke within the session expiration time: the customer, or the
        business (an outbound text, a warning). Not Rasa's expiry rule, which counts
        from the customer's last text only, and would call a conversation the
        business just started with a customer who last texted a week ago expired."""
        tracker = await self._tracker(customer)
        if tracker is None or not tracker.events:
            return False
        domain = self.app.ctx.agent.domain
        minutes = domain.session_config.session_expiration_time if domain else 0
        if not minutes:
            return True
        return time.time() - tracker.events[-1].timestamp < minutes * 60

    async def session_expired(self, customer: str) -> bool:
        """Rasa's own rule: will the next message start a new session by itself?"""
        tracker = await self._tracker(customer)
        agent = compat.agent_of(self.app)
        if tracker is None or agent is None or agent.processor is None:
            return False
        return compat.session_expired(agent.processor, tracker)

    async def start_session(self, customer: str, output: OutputChannel) -> None:
        """Run action_session_start now; its greeting goes to `output`."""
        agent = self.app.ctx.agent
        processor = agent.processor
        async with agent.lock_store.lock(customer):
            await processor.execute_action(
                customer,
                ACTION_SESSION_START_NAME,
                output,
                processor.nlg,
                PolicyPrediction.for_action_name(
                    agent.domain, ACTION_SESSION_START_NAME
                ),
            )

    def slot_names(self) -> set[str]:
        domain = self.app.ctx.agent.domain
        return {slot.name for slot in domain.slots} if domain else set()

    async def start_outbound(
        self,
        customer: str,
        agent_number: str | None,
        action: str | None,
        message: str | None,
        slots: dict[str, Any],
        send: SendOutbound,
    ) -> None:
        """A new session whose first turn is the business's text, then the send.

        Under the conversation's lock: the session starts (the bot's own
        action_session_start, its greeting left out: the business's text is the
        opening), an external user event restarts the session clock, the slots are
        set, and the text is either `message` or what `action` says. The tracker
        is saved only if Twilio took the text, so a conversation never shows a
        message the customer did not get. Raises Paused, NothingToSay.
        """
        agent = self.app.ctx.agent
        processor = agent.processor
        domain = agent.domain
        async with agent.lock_store.lock(customer):
            tracker = await processor.get_tracker(customer)
            if tracker.is_paused():
                raise Paused(customer)
            metadata = {"channel_type": "sms", "to": agent_number, "outbound": True}
            await self._start_session_quietly(tracker, metadata)
            tracker.update(
                UserUttered(
                    text=EXTERNAL_PREFIX + OUTBOUND_INTENT,
                    intent={"name": OUTBOUND_INTENT, "confidence": 1.0},
                    metadata=metadata,
                    input_channel="twilio_sms",
                ),
                domain,
            )
            for name, value in slots.items():
                tracker.update(SlotSet(name, value), domain)
            if action is not None:
                texts = await self._run_quietly(tracker, action)
            else:
                texts = [shape_message(message or "")]
                tracker.update(BotUttered(texts[0], metadata={"outbound": True}))
                tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
            if not texts:
                raise NothingToSay(action or "")
            if await send(texts):
                await agent.tracker_store.save(tracker)

    async def _start_session_quietly(
        self, tracker: DialogueStateTracker, metadata: dict[str, Any]
    ) -> None:
        tracker.update(SlotSet(SESSION_START_METADATA_SLOT, metadata))
        events = await self._action_events(tracker, ACTION_SESSION_START_NAME)
        self._log(
            tracker,
            ACTION_SESSION_START_NAME,
            [e for e in events if not isinstance(e, BotUttered)],
        )

    async def _run_quietly(self, tracker: DialogueStateTracker, name: str) -> list[str]:
        """Run a bot action for its texts, which are returned, not sent: shaped
        as the SMS channel shapes a turn's (as Rasa's processor hands its bot
        events to an output channel)."""
        events = await self._action_events(tracker, name)
        self._log(tracker, name, events)
        output = SmsOutput()
        for event in events:
            if isinstance(event, BotUttered):
                await output.send_response(tracker.sender_id, event.message())
        return output.texts

    async def _action_events(
        self, tracker: DialogueStateTracker, name: str
    ) -> list[Event]:
        processor = self.app.ctx.agent.processor
        action = action_for_name_or_text(
            name, processor.domain, processor.action_endpoint
        )
        return list(
            await action.run(SmsOutput(), processor.nlg, tracker, processor.domain)
            or []
        )

    def _log(
        self, tracker: DialogueStateTracker, name: str, events: Sequence[Event]
    ) -> None:
        """As Rasa logs an action: its ActionExecuted, then what it returned."""
        domain = self.app.ctx.agent.domain
        tracker.update(ActionExecuted(name), domain)
        tracker.update_with_events(list(events), domain)

    async def staff_reply(self, customer: str, text: str, send: SendOutbound) -> bool:
        """A team member's text in a conversation handed to a person: sent, then
        recorded as the bot's utterance marked as staff. False if the conversation
        is not waiting for a person (the bot is answering it)."""
        agent = self.app.ctx.agent
        async with agent.lock_store.lock(customer):
            tracker = await agent.tracker_store.retrieve(customer)
            if tracker is None or not tracker.is_paused():
                return False
            if await send([text]):
                tracker.update(BotUttered(text, metadata={"staff": True}))
                await agent.tracker_store.save(tracker)
        return True

    async def resume(self, customer: str) -> bool:
        """Give a handed-off conversation back to the bot; False if it was not
        handed off. The action_listen after the resume makes the customer's next
        text a new turn, not the tail of the paused exchange."""
        agent = self.app.ctx.agent
        async with agent.lock_store.lock(customer):
            tracker = await agent.tracker_store.retrieve(customer)
            if tracker is None or not tracker.is_paused():
                return False
            tracker.update(ConversationResumed())
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
            await agent.tracker_store.save(tracker)
        return True

    async def exists(self, customer: str) -> bool:
        tracker = await self._tracker(customer)
        return tracker is not None and bool(tracker.events)

    async def history(self, customer: str) -> list[Event]:
        """Every event of every session (the conversation view), oldest first."""
        agent = getattr(self.app.ctx, "agent", None)
        if agent is None or agent.tracker_store is None:
            return []
        tracker = await agent.tracker_store.retrieve_full_tracker(customer)
        return list(tracker.events) if tracker is not None else []

    def session_minutes(self) -> float:
        """Rasa's session expiration time (domain.yml), 0 when sessions never end."""
        agent = getattr(self.app.ctx, "agent", None)
        domain = agent.domain if agent is not None else None
        return float(domain.session_config.session_expiration_time) if domain else 0.0

    async def record_inactivity_warning(self, customer: str, text: str) -> bool:
        """Put the warning into the conversation; False if there is none to warn.

        An external user event (like a Rasa reminder) followed by the bot's text:
        the session clock restarts. No action runs on it, so when the customer
        replies, the policies see the reply right after the bot's last action, as
        if the warning were not there: a form or question in progress goes on.
        A conversation handed to a person (paused) gets no warning.
        """
        agent = self.app.ctx.agent
        async with agent.lock_store.lock(customer):
            tracker = await agent.tracker_store.retrieve(customer)
            if tracker is None or not tracker.events or tracker.is_paused():
                return False
            channel = tracker.get_latest_input_channel()
            tracker.update(UserUttered.create_external(INACTIVITY_INTENT, [], channel))
            tracker.update(BotUttered(text, metadata={"inactivity": "warning"}))
            await agent.tracker_store.save(tracker)
        return True

    async def replies_to(
        self, customer: str, message_sid: str
    ) -> list[tuple[str, list[dict[str, Any]]]] | None:
        """The bot's replies to a text whose turn already ran, or None if it did not.

        A worker that died after the turn but before the send leaves the turn in the
        tracker: re-running it would make the customer's text count twice.
        """
        tracker = await self._tracker(customer)
        if tracker is None:
            return None
        replies: list[tuple[str, list[dict[str, Any]]]] | None = None
        for event in tracker.events:
            if isinstance(event, UserUttered):
                if replies is not None:
                    break
                if event.message_id == message_sid:
                    replies = []
            elif isinstance(event, BotUttered) and replies is not None and event.text:
                replies.append((event.text, list(event.data.get("buttons") or [])))
        return replies
