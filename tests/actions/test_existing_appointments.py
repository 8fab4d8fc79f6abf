"""Check, reschedule, cancel, confirm and remind, against appointments in Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rasa_sdk.executor import CollectingDispatcher
from redis.asyncio import Redis

from actions import redis_stores
from actions.business import business
from actions.existing_appointments import (
    ActionAskNewTime,
    ActionCancelAppointment,
    ActionCheckAppointment,
    ActionConfirmAppointment,
    ActionOfferCancel,
    ActionRemindAppointment,
    ActionRescheduleAppointment,
    ValidateRescheduleForm,
)
from tests.actions.trackers import (
    CUSTOMER,
    DOMAIN,
    assert_sms_shaped,
    local,
    make_tracker,
    mdy,
    next_weekday,
    slots_of,
    texts,
)

BIZ = business()
WEDNESDAY = next_weekday(2)
THURSDAY = next_weekday(3)


async def run(
    action, text: str = "", intent: str = "inform", slots: dict | None = None, **kw
):
    dispatcher = CollectingDispatcher()
    events = await action.run(
        dispatcher, make_tracker(text, intent, slots, **kw), DOMAIN
    )
    assert_sms_shaped(dispatcher)
    return texts(dispatcher), slots_of(events), events


async def book(hour: int = 10, day=WEDNESDAY, customer: str = CUSTOMER):
    return await redis_stores.appointments().book(
        customer, BIZ.service("cleaning"), local(day, hour), "Sam"
    )


async def test_check_with_nothing_booked_says_so(redis: Redis) -> None:
    said, _, _ = await run(
        ActionCheckAppointment(), "when is my appt", "check_appointment"
    )
    assert "can't find an upcoming appointment" in said[0]


async def test_check_names_service_day_and_time(redis: Redis) -> None:
    await book(10)
    said, _, _ = await run(
        ActionCheckAppointment(), "when is my appt", "check_appointment"
    )
    assert said[0].startswith("You have a cleaning on Wed") and "10:00am" in said[0]


async def test_cancel_asks_first_then_cancels_on_yes(redis: Redis) -> None:
    appointment = await book(10)
    said, slots, _ = await run(
        ActionOfferCancel(), "cancel my appointment", "cancel_appointment"
    )
    assert (
        said[0].startswith("Cancel your cleaning on Wed")
        and "Reply Y to cancel" in said[0]
    )
    assert slots["pending_cancel_id"] == appointment.id
    assert (await redis_stores.appointments().get(appointment.id)).status == "booked"

    said, slots, _ = await run(
        ActionCancelAppointment(), "y", "affirm", {"pending_cancel_id": appointment.id}
    )
    assert said == ["Cancelled. Text us anytime to book again."]
    assert (await redis_stores.appointments().get(appointment.id)).status == "cancelled"
    assert slots["pending_cancel_id"] is None


async def test_cancel_cannot_touch_another_customers_appointment(redis: Redis) -> None:
    theirs = await book(10, customer="+15555550777")
    said, _, _ = await run(
        ActionCancelAppointment(), "y", "affirm", {"pending_cancel_id": theirs.id}
    )
    assert "can't find" in said[0]
    assert (await redis_stores.appointments().get(theirs.id)).status == "booked"


async def test_late_cancellation_mentions_the_fee(redis: Redis) -> None:
    soon = BIZ.now().replace(microsecond=0) + timedelta(hours=3)
    await redis_stores.appointments().book(
        CUSTOMER, BIZ.service("checkup"), soon, "Sam"
    )
    said, _, _ = await run(
        ActionOfferCancel(), "cancel my appointment", "cancel_appointment"
    )
    assert "less than 24h away, so a $25 fee may apply" in said[0]


async def test_early_cancellation_mentions_no_fee(redis: Redis) -> None:
    await book(10)
    said, _, _ = await run(
        ActionOfferCancel(), "cancel my appointment", "cancel_appointment"
    )
    assert "fee" not in said[0]


async def test_reschedule_shows_the_appointment_then_moves_it(redis: Redis) -> None:
    appointment = await book(10)
    said, _, _ = await run(
        ActionAskNewTime(),
        slots={"requested_slot": "new_time"},
        active_loop="reschedule_form",
    )
    assert (
        said[0].startswith("You have a cleaning on Wed")
        and "When would you like to come instead?" in said[0]
    )

    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        f"{mdy(THURSDAY)} 2pm",
        "inform",
        {"requested_slot": "new_time"},
        active_loop="reschedule_form",
    )
    slots = slots_of(await ValidateRescheduleForm().run(dispatcher, tracker, DOMAIN))
    assert slots["new_time"] == local(THURSDAY, 14).isoformat()

    said, _, _ = await run(
        ActionRescheduleAppointment(), slots={"new_time": slots["new_time"]}
    )
    assert said[0].startswith("Moved: Thu") and "2:00pm" in said[0]
    moved = await redis_stores.appointments().get(appointment.id)
    assert moved.start == local(THURSDAY, 14)


async def test_reschedule_to_a_slot_overlapping_only_itself_is_fine(
    redis: Redis,
) -> None:
    await book(10)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        f"{mdy(WEDNESDAY)} 10:15am",
        "inform",
        {"requested_slot": "new_time"},
        active_loop="reschedule_form",
    )
    slots = slots_of(await ValidateRescheduleForm().run(dispatcher, tracker, DOMAIN))
    assert slots["new_time"] == local(WEDNESDAY, 10, 15).isoformat()


async def validate_reschedule(text: str, requested: str | None) -> dict:
    tracker = make_tracker(
        text,
        "reschedule_appointment",
        {"requested_slot": requested},
        active_loop="reschedule_form",
    )
    events = await ValidateRescheduleForm().run(CollectingDispatcher(), tracker, DOMAIN)
    return slots_of(events)


@pytest.mark.parametrize(
    "request_text",
    ["can we push it to {day} 10am", "can i move it to {day} at 10am"],
)
async def test_a_day_and_time_given_with_the_request_are_used_at_once(
    redis: Redis, request_text: str
) -> None:
    """ "can we push it to friday 10am" must not be answered "When instead?"."""
    await book(10)
    slots = await validate_reschedule(request_text.format(day=mdy(THURSDAY)), None)
    assert slots["new_time"] == local(THURSDAY, 10).isoformat()


async def test_a_request_without_a_time_leaves_the_question_to_ask(
    redis: Redis,
) -> None:
    await book(10)
    slots = await validate_reschedule("can i reschedule my appt", None)
    assert slots.get("new_time") is None


async def test_reschedule_with_nothing_booked_asks_nothing(redis: Redis) -> None:
    required = await ValidateRescheduleForm().required_slots(
        ["new_time"], CollectingDispatcher(), make_tracker(), DOMAIN
    )
    assert required == []
    said, _, _ = await run(ActionRescheduleAppointment())
    assert "can't find an upcoming appointment" in said[0]


async def test_confirm_and_reminder(redis: Redis) -> None:
    appointment = await book(10)
    said, _, _ = await run(ActionRemindAppointment())
    assert said[0].startswith(f"{BIZ.name}: reminder of your cleaning on Wed")
    assert "Reply C to confirm" in said[0] and "YES" not in said[0]
    said, _, _ = await run(ActionConfirmAppointment(), "c", "confirm_appointment")
    assert said[0].startswith("Thanks, you're confirmed for Wed")
    assert (await redis_stores.appointments().get(appointment.id)).status == "confirmed"


async def test_reminder_with_nothing_booked_sends_nothing(redis: Redis) -> None:
    said, _, _ = await run(ActionRemindAppointment())
    assert said == []
