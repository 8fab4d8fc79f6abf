"""What the worker asks of Rasa's stored conversations, outside a turn.

Kept apart from the worker so that the worker needs only these two questions, and
the answers come from whatever tracker store `endpoints.yml` configures.
"""

from __future__ import annotations

import time
from typing import Any

from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Sanic


class RasaConversations:
    def __init__(self, app: Sanic) -> None:
        self.app = app

    async def _tracker(self, customer: str) -> Any:
        agent = getattr(self.app.ctx, "agent", None)
        if agent is None or agent.tracker_store is None:
            return None
        return await agent.tracker_store.retrieve(customer)

    async def has_active_session(self, customer: str) -> bool:
        """A stored conversation whose session has not expired (session_config)."""
        tracker = await self._tracker(customer)
        if tracker is None or not tracker.events:
            return False
        domain = self.app.ctx.agent.domain
        minutes = domain.session_config.session_expiration_time if domain else 0
        if not minutes:
            return True
        return time.time() - tracker.events[-1].timestamp < minutes * 60

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
