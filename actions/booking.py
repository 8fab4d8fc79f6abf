"""The booking form: service, day and time, name, then an explicit yes.

Slots are asked in `domain.yml` order. Questions are custom `action_ask_*` actions so
they can show numbered options and the reason the last answer did not work.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import redis_stores
from actions.appointment_store import SlotTaken
from actions.business import Business, Service, business
from actions.dates import parse_when
from actions.formatting import format_money, format_when
from actions.forms import (
    DIGRESSIONS,
    ask_for_time,
    current_start,
    latest_intent,
    resumed_prefix,
    slot_before_this_turn,
)
from actions.replies import options_from_slot, options_slot, say
from actions.time_choice import choice_slots, choose_time, diary
from policies.answers import not_a_name
from replytext.options import Option, resolve_choice

_NAME_LEAD = re.compile(
    r"^\s*(?:(?:my\s+name\s+is|my\s+names|name\s+is|i\s*am|i'?m|it'?s|its|"
    r"this\s+is|put\s+it\s+under|under|the\s+name\s+is|name)\s*[:,]?\s+)",
    re.IGNORECASE,
)
_THANKS = re.compile(
    r"(?:[\s,]+(?:thanks|thank\s+you|thx|ty|please|pls))+[\s.!]*$", re.I
)
#: "..., name is Maria Gomez" / "this is June Price" at the end of a longer text.
_NAME_IN_TEXT = re.compile(
    r"(?:^|[,.;!]\s*|\s)(?:my\s+name\s+is|my\s+name'?s|name\s+is|name'?s|this\s+is|"
    r"it'?s|i'?m|i\s+am|under\s+the\s+name(?:\s+of)?)\s+"
    r"(?P<name>[A-Za-z][A-Za-z.'-]*(?:\s+[A-Za-z][A-Za-z.'-]*){0,3})[\s.!]*$",
    re.IGNORECASE,
)
#: Words after "this is" / "I'm" that say how, not who: "this is urgent".
_NOT_NAME_WORDS = frozenset(
    {
        "urgent", "free", "available", "busy", "here", "back", "new", "fine", "late",
        "sick", "in", "at", "on", "the", "a", "an", "about", "not", "so", "very",
        "just", "looking", "wondering", "interested", "hoping", "trying", "going",
        "calling", "texting", "asking", "me", "my", "you", "your", "it", "that",
        "this", "today", "tomorrow", "tmrw", "morning", "afternoon", "evening",
        "possible", "ok", "okay", "good", "great", "sorry", "still", "also",
    }
)  # fmt: skip


def service_options(biz: Business) -> list[Option]:
    """The business's services as numbered options ("Reply 1 for cleaning...")."""
    return [Option(title=s.name, payload=s.key) for s in biz.services]


def match_service(
    text: str, entities: list[dict[str, Any]], biz: Business, offered: list[Option]
) -> Service | None:
    """An entity first, then an option pick, then a service named in the text."""
    for entity in entities:
        if entity.get("entity") == "service":
            found = biz.service(str(entity.get("value", "")).lower())
            if found:
                return found
    picked = resolve_choice(text, offered or service_options(biz))
    if picked and biz.service(picked):
        return biz.service(picked)
    lowered = text.lower()
    named = [s for s in biz.services if s.key in lowered or s.name in lowered]
    return named[0] if len(named) == 1 else None


def clean_name(text: str) -> str | None:
    """ "its sam lee thanks" -> "Sam Lee"; None for what is plainly not a name
    (policies/answers.py: a question, digits, a command, another request)."""
    if not_a_name(text):
        return None
    name = _THANKS.sub("", _NAME_LEAD.sub("", text)).strip(" .,!:;\"'")
    name = re.sub(r"\s+", " ", name)
    if not name or len(name) > 60 or not re.search(r"[A-Za-z]", name):
        return None
    if not_a_name(name):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in name.split())


def name_in_text(text: str) -> str | None:
    """A name given along with the rest ("book a checkup fri 2pm, name is Maria
    Gomez"), or None."""
    match = _NAME_IN_TEXT.search(text)
    if not match:
        return None
    words = match.group("name").split()
    if words[0].lower() in _NOT_NAME_WORDS:
        return None
    return clean_name(match.group("name"))


def without_name(text: str) -> str:
    """The text without a trailing "name is ..." so "June" or "Eve" in a name is
    never read as a date or time."""
    match = _NAME_IN_TEXT.search(text)
    if not match or name_in_text(text) is None:
        return text
    return text[: match.start()].rstrip(" ,.;")


def service_phrase(service: Service) -> str:
    """What a service takes and costs, said before asking for a time."""
    return f"A {service.name} takes {service.duration_minutes} min ({format_money(service.price)})."


class ValidateBookingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_booking_form"

    async def extract_appointment_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The requested slot takes any answer; other turns only a clear date/time.

        That second case is how "book a cleaning tomorrow at 3" fills the time at
        once and how "actually make it 4pm" corrects it at the confirmation step.
        """
        text = tracker.latest_message.get("text") or ""
        requested = tracker.get_slot("requested_slot")
        if requested == "customer_name" and not not_a_name(text):
            return {}  # the answer to "what name?" is a name, even "Eve" or "June"
        if latest_intent(tracker) in DIGRESSIONS:
            return {}
        text = without_name(text)
        if requested == "appointment_time":
            return {"appointment_time": text}
        biz = business()
        if parse_when(text, biz.now(), biz.date_order) is not None:
            return {"appointment_time": text}
        return {}

    async def extract_customer_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer to "what name?" whatever NLU made of it (the AnswerPolicy
        sent it here), or a name given along with the rest of a text."""
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("requested_slot") == "customer_name":
            return {} if not_a_name(text) else {"customer_name": text}
        if latest_intent(tracker) in DIGRESSIONS:
            return {}
        named = name_in_text(text)
        return {"customer_name": named} if named else {}

    async def validate_service(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("requested_slot") == "customer_name" and not not_a_name(
            text
        ):
            # "Faith Clean" is a name: the service chosen before stays.
            return {"service": slot_before_this_turn(tracker, "service")}
        biz = business()
        offered = options_from_slot(tracker.get_slot("offered_options"))
        service = match_service(
            str(value or ""),
            tracker.latest_message.get("entities") or [],
            biz,
            offered if tracker.get_slot("requested_slot") == "service" else [],
        )
        if service is None:
            return {"service": None, "booking_note": "Sorry, we don't offer that."}
        return {"service": service.key, "offered_options": None}

    async def validate_appointment_time(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        biz = business()
        service = biz.service_or_first(tracker.get_slot("service"))
        now = biz.now()
        current = current_start(slot_before_this_turn(tracker, "appointment_time"), biz)
        offered = (
            options_from_slot(tracker.get_slot("offered_options"))
            if tracker.get_slot("requested_slot") == "appointment_time"
            else []
        )
        booked = await diary(redis_stores.appointments(), biz, now, ignore=None)
        choice = choose_time(str(value), offered, service, current, booked, biz, now)
        slots = choice_slots(choice, "appointment_time")
        if choice.start is not None:
            slots["booking_confirmed"] = None  # a new time needs a new yes
        return slots

    async def validate_customer_name(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        name = clean_name(str(value or ""))
        if name is None:
            return {
                "customer_name": None,
                "booking_note": "Sorry, I didn't get a name.",
            }
        return {"customer_name": name}

    async def validate_booking_confirmed(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if value is True:
            return {"booking_confirmed": True}
        return {
            "booking_confirmed": None,
            "appointment_time": None,
            "offered_options": None,
            "booking_note": "OK, let's find another time.",
        }


class ActionAskService(Action):
    def name(self) -> str:
        return "action_ask_service"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        options = service_options(business())
        note = tracker.get_slot("booking_note")
        say(dispatcher, f"{note or ''} Which service would you like?", options)
        return [
            SlotSet("offered_options", options_slot(options)),
            SlotSet("booking_note", None),
        ]


class ActionAskAppointmentTime(Action):
    def name(self) -> str:
        return "action_ask_appointment_time"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        biz = business()
        service = biz.service_or_first(tracker.get_slot("service"))
        intro = "" if tracker.get_slot("booking_note") else service_phrase(service)
        return ask_for_time(
            dispatcher,
            tracker,
            "booking",
            f"{intro} What day and time suit you? e.g. Tue 3pm",
        )


class ActionAskCustomerName(Action):
    def name(self) -> str:
        return "action_ask_customer_name"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        note = tracker.get_slot("booking_note") or ""
        say(
            dispatcher,
            f"{resumed_prefix(tracker)}{note} What name should I put the appointment under?",
        )
        return [SlotSet("booking_note", None)]


class ActionAskBookingConfirmed(Action):
    def name(self) -> str:
        return "action_ask_booking_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        biz = business()
        service = biz.service_or_first(tracker.get_slot("service"))
        start = current_start(tracker.get_slot("appointment_time"), biz)
        when = format_when(start) if start else "that time"
        name = tracker.get_slot("customer_name") or "you"
        say(
            dispatcher,
            f"{resumed_prefix(tracker)}{service.name.capitalize()} for {name}, {when}."
            " Reply Y to book or N to change it.",
        )
        return []


class ActionBookAppointment(Action):
    def name(self) -> str:
        return "action_book_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        biz = business()
        service = biz.service(tracker.get_slot("service") or "")
        start = current_start(tracker.get_slot("appointment_time"), biz)
        name = tracker.get_slot("customer_name") or ""
        reset = [
            SlotSet("service", None),
            SlotSet("appointment_time", None),
            SlotSet("booking_confirmed", None),
            SlotSet("offered_options", None),
        ]
        if service is None or start is None:
            say(
                dispatcher,
                "Sorry, something went wrong with that booking. Please text 'book' to start again.",
            )
            return reset
        try:
            await redis_stores.appointments().book(
                tracker.sender_id, service, start, name
            )
        except SlotTaken:
            say(
                dispatcher,
                f"Sorry, {format_when(start)} was just taken. Text 'book' to pick another time.",
            )
            return reset
        say(
            dispatcher,
            f"Booked: {format_when(start)}. Reply C to confirm closer to the day, or text us anytime to reschedule.",
        )
        return reset


class ActionStopForm(Action):
    """ "never mind" inside a form: leave it and forget its half-filled answers."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        nothing = (
            "Nothing was booked."
            if tracker.active_loop_name == "booking_form"
            else "Your appointment is unchanged."
        )
        say(dispatcher, f"OK, I've stopped. {nothing} Text us anytime.")
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            SlotSet("service", None),
            SlotSet("appointment_time", None),
            SlotSet("booking_confirmed", None),
            SlotSet("new_time", None),
            SlotSet("offered_options", None),
            SlotSet("booking_note", None),
        ]
