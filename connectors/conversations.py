"""What the worker asks of Rasa's conversations outside a normal turn.

Kept apart from the worker so that the worker needs only these few questions and
commands, and the answers come from whatever tracker and lock stores
`endpoints.yml` configures. Anything that changes a tracker holds Rasa's lock for
the conversation, as Rasa's own HTTP API does.
"""

from __future__ import annotations

import time
from typing import Any

from rasa.core.channels.channel import OutputChannel
from rasa.core.policies.policy import PolicyPrediction
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Sanic

from connectors import compat

#: The external intent a warning is recorded under (as Rasa records reminders).
INACTIVITY_INTENT = "inactivity_warning"


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
