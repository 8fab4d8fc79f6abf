"""The booking form: service, day and time, name, then an explicit yes.

Slots are asked in `domain.yml` order. Questions are custom `action_ask_*` actions so
they can show numbered options and the reason the last answer did not work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import redis_stores
from actions.appointment_store import SlotTaken
from actions.business import Business, Service, business
from actions.dates import parse_when
from actions.existing_appointments import (
    appointment_or_say_none,
    describe,
    move_appointment,
    next_appointment,
)
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
from actions.time_choice import choice_slots, choose_time, diary, refit
from policies.answers import (
    clean_name,
    move_or_another,
    name_in_text,
    not_a_name,
    stated_name,
    without_name,
)
from replytext.options import Option, resolve_choice


def service_options(biz: Business) -> list[Option]:
    """The business's services as numbered options ("Reply 1 for cleaning...")."""
    return [Option(title=s.name, payload=s.key) for s in biz.services]


def match_service(
    text: str, entities: list[dict[str, Any]], biz: Business, offered: list[Option]
) -> Service | None:
    """An entity first, then an option pick, then a service named in the text."""
    if any(e.get("entity") == "service" for e in entities):
        found = service_in_words("", entities, biz)
        if found:
            return found
    picked = resolve_choice(text, offered or service_options(biz))
    if picked and biz.service(picked):
        return biz.service(picked)
    return service_in_words(text, entities, biz)


def service_in_words(
    text: str, entities: list[dict[str, Any]], biz: Business
) -> Service | None:
    """A service the text names (not an option number): "actually a checkup"."""
    for entity in entities:
        if entity.get("entity") == "service":
            found = biz.service(str(entity.get("value", "")).lower())
            if found:
                return found
    lowered = text.lower()
    named = [s for s in biz.services if s.key in lowered or s.name in lowered]
    return named[0] if len(named) == 1 else None


def service_phrase(service: Service) -> str:
    """What a service takes and costs, said before asking for a time."""
    return f"A {service.name} takes {service.duration_minutes} min ({format_money(service.price)})."


class ValidateBookingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_booking_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """A customer with an upcoming appointment is asked first whether to move it
        or book another; "move" ends the form (action_book_appointment moves it)."""
        choice = tracker.get_slot("booking_or_move")
        if choice == "move":
            return []
        rest = [s for s in domain_slots if s != "booking_or_move"]
        if choice == "another":
            return rest
        # A raw answer ("1") is still to be validated, so the slot stays required.
        if choice is not None or await next_appointment(tracker.sender_id, business()):
            return ["booking_or_move", *rest]
        return rest

    async def extract_booking_or_move(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A choice whatever NLU made of it ("book another" can read as "stop");
        anything else unless it is a digression, to be asked again."""
        if tracker.get_slot("requested_slot") != "booking_or_move":
            return {}
        text = tracker.latest_message.get("text") or ""
        if move_or_another(text) is None and latest_intent(tracker) in DIGRESSIONS:
            return {}
        return {"booking_or_move": text}

    async def validate_booking_or_move(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"booking_or_move": move_or_another(str(value or ""))}

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
        biz = business()
        has_time = (
            parse_when(text, biz.now(), biz.date_order, biz.open_spans) is not None
        )
        if requested == "appointment_time" and not has_time:
            # "actually a checkup instead" changes the service, not the time.
            entities = tracker.latest_message.get("entities") or []
            if service_in_words(text, entities, biz) is not None:
                return {}
            return {"appointment_time": text}
        return {"appointment_time": text} if has_time else {}

    async def extract_customer_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer to "what name?" whatever NLU made of it (the AnswerPolicy
        sent it here), or a name given along with the rest of a text."""
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("requested_slot") == "customer_name":
            return {} if not_a_name(text) else {"customer_name": text}
        named = stated_name(text)  # "the name is Jo Price", read as prices by NLU
        if named is None and latest_intent(tracker) not in DIGRESSIONS:
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
        previous = slot_before_this_turn(tracker, "service")
        if previous and previous != service.key:
            return {
                "service": service.key,
                **await self._time_for_new_service(tracker, service, biz),
            }
        return {"service": service.key, "offered_options": None}

    @staticmethod
    async def _time_for_new_service(
        tracker: Tracker, service: Service, biz: Business
    ) -> dict[str, Any]:
        """ "actually a filling instead": the time chosen stays if the new service
        fits there; if not, the customer is told why and offered the nearest."""
        start = current_start(slot_before_this_turn(tracker, "appointment_time"), biz)
        if start is None or "appointment_time" in tracker.slots_to_validate():
            return {"offered_options": None}
        now = biz.now()
        booked = await diary(redis_stores.appointments(), biz, now, ignore=None)
        choice = refit(start, service, booked, biz, now)
        return {**choice_slots(choice, "appointment_time"), "booking_confirmed": None}

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


class ActionAskBookingOrMove(Action):
    def name(self) -> str:
        return "action_ask_booking_or_move"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Asked only with an appointment upcoming. A note and time options from
        the first text are left for the time question that may follow."""
        biz = business()
        appointment = await next_appointment(tracker.sender_id, biz)
        have = (
            f"You have {describe(appointment, biz, article=True)}. "
            if appointment
            else ""
        )
        prefix = resumed_prefix(tracker)
        if not prefix and tracker.get_slot("requested_slot") == "booking_or_move":
            prefix = (
                "Sorry, I didn't get that. "  # asked before: the answer was unclear
            )
        say(dispatcher, f"{prefix}{have}Reply 1 to move it, 2 to book another.")
        return []


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
            SlotSet("booking_or_move", None),
        ]
        if tracker.get_slot("booking_or_move") == "move":
            return reset + await self._move_instead(dispatcher, tracker, start, biz)
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

    @staticmethod
    async def _move_instead(
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        start: datetime | None,
        biz: Business,
    ) -> list[EventType]:
        """ "1, move it": to the time given with the request, else ask for one."""
        appointment = await appointment_or_say_none(dispatcher, tracker, biz)
        if appointment is None:
            return []
        if start is None:
            return [FollowupAction("reschedule_form")]
        await move_appointment(dispatcher, appointment, start, biz)
        return []


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
            SlotSet("booking_or_move", None),
        ]
