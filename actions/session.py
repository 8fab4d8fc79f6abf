"""action_session_start: which channel this is, a greeting that fits it, and the name.

Only the customer's name survives into a new session: a half-finished booking from
yesterday must not resurface when the customer texts today. A number the business
knows (the SMS channel's contact matching, docs/contacts.md) is greeted by the
contact's name, which wins over the name carried from the last session.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.business import Business, business
from actions.formatting import with_article
from actions.replies import say

CARRIED_OVER = ("customer_name",)
# Rasa input channel name -> channel_type slot value.
CHANNEL_TYPES = {"twilio_sms": "sms", "rest": "rest", "cmdline": "cmdline"}


def channel_type(metadata: Any, latest_input_channel: str | None) -> str:
    """From the message's metadata, else the tracker's latest input channel.

    A brand-new conversation has no earlier message to read the channel from, so the
    SMS and REST channels put `channel_type` into the metadata. `rasa shell` sends
    none, so a conversation with neither is the shell.
    """
    if isinstance(metadata, dict) and metadata.get("channel_type"):
        return str(metadata["channel_type"])
    if latest_input_channel:
        return CHANNEL_TYPES.get(latest_input_channel, latest_input_channel)
    return "cmdline"


def greeting(channel: str, biz: Business, name: str | None) -> str:
    """The first line of a session, worded for the channel it arrives on; the
    shell's example names the business's own first service."""
    hello = f"Hi {name}," if name else "Hi,"
    if channel == "sms":
        return f"{hello} this is {biz.name}."
    if channel == "cmdline":
        return (
            f"{hello} this is {biz.name}'s assistant (test shell). Type as a "
            f"customer would text, e.g. 'book {with_article(biz.services[0].name)} tue 3pm'."
        )
    return f"{hello} this is {biz.name}'s assistant."


def business_slots(biz: Business) -> list[EventType]:
    """The business's facts that domain.yml's replies name ({business_name},
    {service_example}), so their wording stays in the domain and the facts in
    the business file."""
    return [
        SlotSet("business_name", biz.name),
        SlotSet("service_example", with_article(biz.services[0].name)),
    ]


def contact_name(metadata: Any) -> str | None:
    """The matched contact's name the SMS channel put into the message metadata."""
    if not isinstance(metadata, dict):
        return None
    contact = metadata.get("contact")
    if not isinstance(contact, dict):
        return None
    name = contact.get("name")
    return str(name).strip() or None if name else None


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        metadata = tracker.get_slot("session_started_metadata")
        channel = channel_type(metadata, tracker.get_latest_input_channel())
        carried = {slot: tracker.get_slot(slot) for slot in CARRIED_OVER}
        known = contact_name(metadata)
        if known:
            carried["customer_name"] = known
        events: list[EventType] = [SessionStarted(), SlotSet("channel_type", channel)]
        events += business_slots(business())
        events += [SlotSet(k, v) for k, v in carried.items() if v is not None]
        say(dispatcher, greeting(channel, business(), carried.get("customer_name")))
        events.append(ActionExecuted("action_listen"))
        return events
