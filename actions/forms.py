"""What the booking and reschedule forms share: which intents are digressions,
what the customer just said, a slot's value before this turn, the chosen start,
and where we were before a digression."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.business import Business
from actions.replies import options_from_slot, say

# Intents that are never an answer to the form's question (rules handle them).
DIGRESSIONS = {"faq", "stop", "request_human", "bot_challenge"}


def latest_intent(tracker: Tracker) -> str | None:
    """The intent NLU gave the message (nlu_fallback included, unlike rasa_sdk's
    get_intent_of_latest_message, which skips it)."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def slot_before_this_turn(tracker: Tracker, slot: str) -> Any:
    """The value a slot had before this message: rasa_sdk has already overwritten
    `tracker.slots` with the raw extracted text by the time validation runs."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def current_start(value: Any, biz: Business) -> datetime | None:
    """A stored ISO start in the business's time zone; None if unset or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).astimezone(biz.timezone)
    except ValueError:
        return None


def resumed_prefix(tracker: Tracker, topic: str = "booking") -> str:
    """After a digression (an FAQ answer), say where we are before asking again."""
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") not in (
            "action_listen",
            "booking_form",
            "reschedule_form",
            None,
        ):
            return (
                f"Back to your {topic}: "
                if event["name"] in ("action_answer_faq", "utter_iamabot")
                else ""
            )
        if event.get("event") == "user":
            return ""
    return ""


def ask_for_time(
    dispatcher: CollectingDispatcher, tracker: Tracker, topic: str, question: str
) -> list[EventType]:
    """Ask for a day and time: the options still on offer, or else why the last
    answer did not work (`booking_note`) and the question; the note is used once."""
    options = options_from_slot(tracker.get_slot("offered_options"))
    note = tracker.get_slot("booking_note") or ""
    prefix = resumed_prefix(tracker, topic=topic)
    if options:
        say(dispatcher, f"{prefix}{note}", options)
    else:
        say(dispatcher, f"{prefix}{note} {question}")
    return [SlotSet("booking_note", None)]
