"""Existing appointments: check, reschedule, cancel, confirm, and the reminder.

Each acts on the customer's next upcoming appointment (the one a reminder is about
and the one a customer nearly always means by "my appointment").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import redis_stores
from actions.appointment_store import Appointment, SlotTaken
from actions.business import Business, business
from actions.dates import parse_when
from actions.formatting import format_money, format_when, with_article
from actions.forms import (
    DIGRESSIONS,
    ask_for_time,
    current_start,
    latest_intent,
)
from actions.replies import options_from_slot, say
from actions.scheduling import within_cancellation_window
from actions.time_choice import choice_slots, choose_time, diary
from replytext.options import join_words

NO_APPOINTMENT = (
    "I can't find an upcoming appointment for this number. Text 'book' to make one."
)


async def next_appointment(customer: str, biz: Business) -> Appointment | None:
    """The customer's next upcoming appointment: the one "my appointment" means."""
    upcoming = await redis_stores.appointments().upcoming(customer, biz.now())
    return upcoming[0] if upcoming else None


async def appointment_in_context(tracker: Tracker, biz: Business) -> Appointment | None:
    """The appointment the business texted about (`appointment_id`, set by the
    outbound API with a reminder), while it is still upcoming; else the next one."""
    wanted = tracker.get_slot("appointment_id")
    if wanted:
        found = await redis_stores.appointments().get(str(wanted))
        if (
            found is not None
            and found.active
            and found.customer == tracker.sender_id
            and found.end > biz.now()
        ):
            return found
    return await next_appointment(tracker.sender_id, biz)


async def appointment_or_say_none(
    dispatcher: CollectingDispatcher, tracker: Tracker, biz: Business
) -> Appointment | None:
    """The appointment an action about "my appointment" acts on; with none, the
    customer is told so (the caller only returns its slot resets)."""
    appointment = await appointment_in_context(tracker, biz)
    if appointment is None:
        say(dispatcher, NO_APPOINTMENT)
    return appointment


def describe(appointment: Appointment, biz: Business, article: bool = False) -> str:
    """ "cleaning on Thu Mar 5 at 11:15am" ("a cleaning ..." with `article`), for
    replies about an appointment."""
    service = biz.service(appointment.service)
    label = service.name if service else appointment.service
    label = with_article(label) if article else label
    return f"{label} on {format_when(appointment.start).replace(', ', ' at ')}"


class ActionCheckAppointment(Action):
    def name(self) -> str:
        return "action_check_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        biz = business()
        upcoming = await redis_stores.appointments().upcoming(
            tracker.sender_id, biz.now()
        )
        if not upcoming:
            say(dispatcher, NO_APPOINTMENT)
        elif len(upcoming) == 1:
            status = " (confirmed)" if upcoming[0].status == "confirmed" else ""
            say(
                dispatcher,
                f'You have {describe(upcoming[0], biz, article=True)}{status}. Text us to move it, or "cancel my appointment" to cancel it.',
            )
        else:
            listed = join_words([describe(a, biz, article=True) for a in upcoming[:3]])
            say(dispatcher, f"You have {listed}.")
        return []


class ValidateRescheduleForm(FormValidationAction):
    def name(self) -> str:
        return "validate_reschedule_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Nothing to ask when there is nothing to move: the form ends at once."""
        if await appointment_in_context(tracker, business()) is None:
            return []
        return domain_slots

    async def extract_new_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer to "when instead?", or a day and time texted with the request
        itself ("can we push it to friday 10am"), so it is used at once."""
        if latest_intent(tracker) in DIGRESSIONS:
            return {}
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("requested_slot") == "new_time":
            return {"new_time": text}
        biz = business()
        if parse_when(text, biz.now(), biz.date_order, biz.open_spans) is not None:
            return {"new_time": text}
        return {}

    async def validate_new_time(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        biz = business()
        now = biz.now()
        appointment = await appointment_in_context(tracker, biz)
        if appointment is None:
            return {"new_time": None}
        service = biz.service_or_first(appointment.service)
        offered = options_from_slot(tracker.get_slot("offered_options"))
        booked = await diary(redis_stores.appointments(), biz, now, ignore=appointment)
        choice = choose_time(
            str(value), offered, service, appointment.start, booked, biz, now
        )
        return choice_slots(choice, "new_time")


class ActionAskNewTime(Action):
    def name(self) -> str:
        return "action_ask_new_time"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        question = "When would you like to come instead? e.g. Fri 2pm"
        if not tracker.get_slot("booking_note") and not tracker.get_slot(
            "offered_options"
        ):
            appointment = await appointment_in_context(tracker, business())
            if appointment:
                question = f"You have {describe(appointment, business(), article=True)}. {question}"
        return ask_for_time(dispatcher, tracker, "appointment", question)


class ActionRescheduleAppointment(Action):
    def name(self) -> str:
        return "action_reschedule_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        biz = business()
        reset = [SlotSet("new_time", None), SlotSet("offered_options", None)]
        appointment = await appointment_or_say_none(dispatcher, tracker, biz)
        start = current_start(tracker.get_slot("new_time"), biz)
        if appointment is None:
            return reset
        if start is None:
            say(dispatcher, "Your appointment is unchanged.")
            return reset
        await move_appointment(dispatcher, appointment, start, biz)
        return reset


async def move_appointment(
    dispatcher: CollectingDispatcher,
    appointment: Appointment,
    start: datetime,
    biz: Business,
) -> None:
    """Move and say so; a start taken meanwhile is said too (the diary decides)."""
    service = biz.service_or_first(appointment.service)
    try:
        await redis_stores.appointments().move(appointment, start, service)
    except SlotTaken:
        say(
            dispatcher,
            f"Sorry, {format_when(start)} was just taken. Text 'reschedule' to pick another time.",
        )
        return
    say(dispatcher, f"Moved: {format_when(start)}. See you then.")


class ActionOfferCancel(Action):
    def name(self) -> str:
        return "action_offer_cancel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        biz = business()
        appointment = await appointment_or_say_none(dispatcher, tracker, biz)
        if appointment is None:
            return [SlotSet("pending_cancel_id", None)]
        fee = ""
        if biz.cancellation_fee and within_cancellation_window(
            appointment.start, biz.now(), biz
        ):
            fee = (
                f" It's less than {biz.cancellation_notice_hours}h away, so a "
                f"{format_money(biz.cancellation_fee)} fee may apply."
            )
        say(
            dispatcher,
            f"Cancel your {describe(appointment, biz)}? Reply Y to cancel or N to keep it.{fee}",
        )
        return [SlotSet("pending_cancel_id", appointment.id)]


class ActionCancelAppointment(Action):
    def name(self) -> str:
        return "action_cancel_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        store = redis_stores.appointments()
        pending = tracker.get_slot("pending_cancel_id")
        appointment = await store.get(pending) if pending else None
        if (
            appointment is None
            or not appointment.active
            or appointment.customer != tracker.sender_id
        ):
            say(dispatcher, NO_APPOINTMENT)
        else:
            await store.cancel(appointment)
            say(dispatcher, "Cancelled. Text us anytime to book again.")
        return [SlotSet("pending_cancel_id", None)]


class ActionConfirmAppointment(Action):
    def name(self) -> str:
        return "action_confirm_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        biz = business()
        appointment = await appointment_or_say_none(dispatcher, tracker, biz)
        if appointment is None:
            return []
        await redis_stores.appointments().confirm(appointment)
        say(
            dispatcher,
            f"Thanks, you're confirmed for {format_when(appointment.start)}.",
        )
        return []


class ActionRemindAppointment(Action):
    """Run by the business's systems through POST /conversations/<id>/execute.

    It ends with action_listen so the customer's reply ("yes", "C") is read as an
    answer to the reminder, as the rule in data/rules/general.yml expects.
    """

    def name(self) -> str:
        return "action_remind_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        biz = business()
        appointment = await appointment_in_context(tracker, biz)
        if appointment is None:
            return []
        say(
            dispatcher,
            f"{biz.name}: reminder of your {describe(appointment, biz)}. "
            "Reply C to confirm, or text us to reschedule.",
        )
        return [ActionExecuted("action_listen")]
