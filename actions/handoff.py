"""A person, please: record the request, tell the customer, pause the bot.

The bot stays paused (Rasa's ConversationPaused) until staff resume the conversation,
so it never talks over a team member who has taken over.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import redis_stores
from actions.business import business
from actions.faq import opening_hours
from actions.handoff_store import HandoffRequest
from actions.replies import say

LAST_MESSAGES = 6


def last_messages(events: list[dict], limit: int = LAST_MESSAGES) -> tuple[str, ...]:
    """The conversation's last texts, "customer: ..." / "bot: ...", for staff."""
    said = [
        f"{'customer' if e['event'] == 'user' else 'bot'}: {e.get('text')}"
        for e in events
        if e.get("event") in ("user", "bot") and e.get("text")
    ]
    return tuple(said[-limit:])


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        biz = business()
        await redis_stores.handoffs().record(
            HandoffRequest(
                customer=tracker.sender_id,
                requested_at=biz.now(),
                channel=tracker.get_slot("channel_type") or "unknown",
                last_messages=last_messages(tracker.events),
            )
        )
        say(
            dispatcher,
            "Sure. A team member will text you back here during opening "
            f"hours ({opening_hours(biz)}).",
        )
        return [ConversationPaused()]
