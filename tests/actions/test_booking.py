"""The booking form's actions, run as the action server runs them, on a real Redis."""

from __future__ import annotations

from datetime import datetime

import pytest
from rasa_sdk.executor import CollectingDispatcher
from redis.asyncio import Redis

from actions import redis_stores
from actions.booking import (
    ActionAskAppointmentTime,
    ActionAskBookingConfirmed,
    ActionAskBookingOrMove,
    ActionAskService,
    ActionBookAppointment,
    ActionStopForm,
    ValidateBookingForm,
)
from actions.business import business
from actions.scheduling import slot_problem
from policies.answers import clean_name, move_or_another, name_in_text
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
TUESDAY = next_weekday(1)
SUNDAY = next_weekday(6)


async def validate(
    text: str,
    slots: dict,
    this_turn: dict | None = None,
    intent: str = "inform",
    entities: list | None = None,
) -> tuple[dict, CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        text,
        intent,
        slots,
        active_loop="booking_form",
        slots_set_this_turn=this_turn,
        entities=entities,
    )
    events = await ValidateBookingForm().run(dispatcher, tracker, DOMAIN)
    # requested_slot is the form's bookkeeping (Rasa does not count it as an
    # answer); the tests look at what the customer's text filled.
    filled = {k: v for k, v in slots_of(events).items() if k != "requested_slot"}
    return filled, dispatcher


async def ask(action, slots: dict) -> tuple[list[str], dict]:
    dispatcher = CollectingDispatcher()
    events = await action.run(
        dispatcher, make_tracker("", slots=slots, active_loop="booking_form"), DOMAIN
    )
    assert_sms_shaped(dispatcher)
    return texts(dispatcher), slots_of(events)


async def test_service_question_numbers_the_services_and_a_number_picks_one(
    redis: Redis,
) -> None:
    said, set_ = await ask(ActionAskService(), {"requested_slot": "service"})
    assert "1 for cleaning" in said[0] and "2 for checkup" in said[0]
    slots, _ = await validate(
        "2", {"requested_slot": "service", **set_}, {"service": "2"}
    )
    assert slots["service"] == "checkup"


async def test_service_named_in_words_or_by_entity(redis: Redis) -> None:
    slots, _ = await validate(
        "a whitening please",
        {"requested_slot": "service"},
        {"service": "a whitening please"},
    )
    assert slots["service"] == "whitening"
    entity = [{"entity": "service", "value": "filling", "start": 0, "end": 6}]
    slots, _ = await validate(
        "cavity", {"requested_slot": "service"}, {"service": "filling"}, entities=entity
    )
    assert slots["service"] == "filling"


async def test_unknown_service_is_asked_again_with_a_reason(redis: Redis) -> None:
    slots, _ = await validate(
        "a haircut", {"requested_slot": "service"}, {"service": "a haircut"}
    )
    assert slots["service"] is None
    said, _ = await ask(ActionAskService(), {"requested_slot": "service", **slots})
    assert said[0].startswith("Sorry, we don't offer that.")


async def test_free_exact_time_is_accepted(redis: Redis) -> None:
    slots, _ = await validate(
        f"{mdy(TUESDAY)} 10am",
        {"requested_slot": "appointment_time", "service": "cleaning"},
    )
    assert slots["appointment_time"] == local(TUESDAY, 10).isoformat()


async def test_taken_slot_offers_three_free_alternatives_and_a_number_picks_one(
    redis: Redis,
) -> None:
    store = redis_stores.appointments()
    await store.book(
        "+15555550999", BIZ.service("cleaning"), local(TUESDAY, 10), "Other"
    )
    base = {"requested_slot": "appointment_time", "service": "cleaning"}
    slots, _ = await validate(f"{mdy(TUESDAY)} 10am", base)
    assert slots["appointment_time"] is None
    assert "taken" in slots["booking_note"]
    options = slots["offered_options"]
    assert 1 <= len(options) <= 3
    booked = await store.booked_between(local(TUESDAY, 0), local(TUESDAY, 23))
    for option in options:
        start = datetime.fromisoformat(option["payload"])
        assert (
            slot_problem(start, BIZ.service("cleaning"), BIZ, booked, BIZ.now()) is None
        )

    said, cleared = await ask(ActionAskAppointmentTime(), {**base, **slots})
    assert "taken" in said[0] and "Reply 1 for" in said[0] and "2 for" in said[0]
    assert cleared["booking_note"] is None

    picked, _ = await validate("2", {**base, **slots})
    assert picked["appointment_time"] == options[1]["payload"]


async def test_another_day_named_with_an_offered_time_is_that_day(
    redis: Redis,
) -> None:
    """Offered Fri "3:00pm", "12/10 3pm" means that Thursday, not the Friday option."""
    friday, thursday = next_weekday(4), next_weekday(3)
    base = {"requested_slot": "appointment_time", "service": "checkup"}
    offered, _ = await validate(f"{mdy(friday)} after 3", base)
    titles = [o["title"] for o in offered["offered_options"]]
    assert "3:00pm" in titles
    slots, _ = await validate(f"{mdy(thursday)} 3pm", {**base, **offered})
    assert slots["appointment_time"] == local(thursday, 15).isoformat()


async def test_closed_day_is_refused_with_other_days(redis: Redis) -> None:
    slots, _ = await validate(
        f"{mdy(SUNDAY)} 10am",
        {"requested_slot": "appointment_time", "service": "checkup"},
    )
    assert slots["appointment_time"] is None
    assert "closed" in slots["booking_note"]
    assert slots["offered_options"]
    for option in slots["offered_options"]:
        assert datetime.fromisoformat(option["payload"]).weekday() != 6


@pytest.mark.parametrize(
    ("day_text", "reason"),
    [
        ("sunday", "Sorry, we're closed on Sundays."),
        ("sunday morning", "Sorry, we're closed on Sundays."),
    ],
)
async def test_a_closed_day_without_a_time_says_why_before_other_days(
    redis: Redis, day_text: str, reason: str
) -> None:
    """Never offer Monday as if it were the Sunday asked for."""
    slots, _ = await validate(
        day_text, {"requested_slot": "appointment_time", "service": "checkup"}
    )
    assert slots["booking_note"].startswith(reason)
    starts = [datetime.fromisoformat(o["payload"]) for o in slots["offered_options"]]
    assert starts and all(s.weekday() != 6 for s in starts)


async def test_a_fully_booked_day_says_so_before_other_days(redis: Redis) -> None:
    store = redis_stores.appointments()
    saturday = next_weekday(5)
    for hour in range(9, 13):  # Sat 9am-1pm, 30-min checkups: the whole day
        for minute in (0, 30):
            await store.book(
                f"+1555000{hour}{minute:02d}",
                BIZ.service("checkup"),
                local(saturday, hour, minute),
                "Someone",
            )
    slots, _ = await validate(
        f"{mdy(saturday)}", {"requested_slot": "appointment_time", "service": "checkup"}
    )
    assert slots["booking_note"].startswith(
        f"Sorry, Sat {saturday:%b} {saturday.day} is fully booked."
    )
    starts = [datetime.fromisoformat(o["payload"]) for o in slots["offered_options"]]
    assert starts and all(s.date() != saturday for s in starts)


async def test_a_part_of_day_offers_times_in_it(redis: Redis) -> None:
    slots, _ = await validate(
        f"{mdy(TUESDAY)} morning",
        {"requested_slot": "appointment_time", "service": "cleaning"},
    )
    starts = [datetime.fromisoformat(o["payload"]) for o in slots["offered_options"]]
    assert starts and all(s.date() == TUESDAY and s.hour < 12 for s in starts)


async def test_gibberish_time_is_asked_again(redis: Redis) -> None:
    slots, _ = await validate(
        "whenever lol", {"requested_slot": "appointment_time", "service": "cleaning"}
    )
    assert slots["appointment_time"] is None
    said, _ = await ask(
        ActionAskAppointmentTime(),
        {"requested_slot": "appointment_time", "service": "cleaning", **slots},
    )
    assert "didn't catch" in said[0] and "e.g." in said[0]


async def test_first_question_says_duration_price_and_an_example(redis: Redis) -> None:
    said, _ = await ask(
        ActionAskAppointmentTime(),
        {"requested_slot": "appointment_time", "service": "cleaning"},
    )
    assert said == [
        "A cleaning takes 45 min ($120). What day and time suit you? e.g. Tue 3pm"
    ]


async def test_time_in_the_booking_request_fills_the_slot_at_once(redis: Redis) -> None:
    slots, _ = await validate(
        f"book a cleaning {mdy(TUESDAY)} at 2pm",
        {"service": "cleaning"},
        {"service": "cleaning"},
        intent="book_appointment",
    )
    assert slots["appointment_time"] == local(TUESDAY, 14).isoformat()


async def test_correction_at_the_confirmation_step_moves_the_time(redis: Redis) -> None:
    filled = {
        "requested_slot": "booking_confirmed",
        "service": "cleaning",
        "customer_name": "Sam Lee",
        "appointment_time": local(TUESDAY, 10).isoformat(),
    }
    slots, _ = await validate("actually make it 4pm", filled)
    assert slots["appointment_time"] == local(TUESDAY, 16).isoformat()
    said, _ = await ask(ActionAskBookingConfirmed(), {**filled, **slots})
    assert said[0].startswith("Cleaning for Sam Lee, Tue")
    assert "4:00pm" in said[0] and "Reply Y to book or N to change it" in said[0]


CHECKUP_ENTITY = [{"entity": "service", "value": "checkup", "start": 11, "end": 18}]


async def test_a_new_service_at_the_time_question_changes_the_service_only(
    redis: Redis,
) -> None:
    """ "actually a checkup instead" is not a day and time the assistant missed."""
    slots, _ = await validate(
        "actually a checkup instead",
        {"requested_slot": "appointment_time", "service": "cleaning"},
        {"service": "checkup"},
        entities=CHECKUP_ENTITY,
    )
    assert slots["service"] == "checkup"
    assert "appointment_time" not in slots and "booking_note" not in slots
    said, _ = await ask(
        ActionAskAppointmentTime(),
        {"requested_slot": "appointment_time", "service": "checkup"},
    )
    assert said[0].startswith("A checkup takes 30 min")


async def test_a_new_service_that_fits_keeps_the_time_and_asks_again(
    redis: Redis,
) -> None:
    filled = {
        "requested_slot": "booking_confirmed",
        "service": "cleaning",
        "customer_name": "Sam Lee",
        "appointment_time": local(TUESDAY, 10).isoformat(),
    }
    slots, _ = await validate(
        "actually a checkup instead",
        filled,
        {"service": "checkup"},
        entities=CHECKUP_ENTITY,
    )
    assert slots["service"] == "checkup"
    assert (
        slots.get("appointment_time", filled["appointment_time"])
        == (filled["appointment_time"])
    )
    said, _ = await ask(ActionAskBookingConfirmed(), {**filled, **slots})
    assert said[0].startswith("Checkup for Sam Lee, Tue") and "10:00am" in said[0]


async def test_a_longer_service_past_closing_says_why_and_offers_times(
    redis: Redis,
) -> None:
    """A 30-min checkup fits Fri 3:30pm; a 60-min filling would end after 4pm."""
    friday = next_weekday(4)
    filled = {
        "requested_slot": "booking_confirmed",
        "service": "checkup",
        "customer_name": "Sam Lee",
        "appointment_time": local(friday, 15, 30).isoformat(),
    }
    entity = [{"entity": "service", "value": "filling", "start": 11, "end": 18}]
    slots, _ = await validate(
        "actually a filling instead", filled, {"service": "filling"}, entities=entity
    )
    assert slots["service"] == "filling" and slots["appointment_time"] is None
    assert slots["booking_note"].startswith(
        f"Sorry, a filling at Fri {friday:%b} {friday.day}, 3:30pm would end after we close (4:00pm)."
    )
    starts = [datetime.fromisoformat(o["payload"]) for o in slots["offered_options"]]
    filling = BIZ.service("filling")
    assert starts and all(
        slot_problem(s, filling, BIZ, [], BIZ.now()) is None for s in starts
    )


async def test_an_faq_during_the_form_is_not_taken_as_an_answer(redis: Redis) -> None:
    slots, _ = await validate(
        "do u take delta dental",
        {"requested_slot": "appointment_time", "service": "cleaning"},
        intent="faq",
    )
    assert slots == {}


async def test_no_at_the_confirmation_asks_for_another_time(redis: Redis) -> None:
    filled = {
        "requested_slot": "booking_confirmed",
        "service": "cleaning",
        "customer_name": "Sam",
        "appointment_time": local(TUESDAY, 10).isoformat(),
    }
    slots, _ = await validate("n", filled, {"booking_confirmed": False}, intent="deny")
    assert slots["appointment_time"] is None and slots["booking_confirmed"] is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("sam lee", "Sam Lee"),
        ("its maria gonzalez", "Maria Gonzalez"),
        ("my name is john", "John"),
        ("put it under alex", "Alex"),
        ("Eve Sato thanks", "Eve Sato"),
        ("Ms. Cancel", "Ms. Cancel"),
        ("Will", "Will"),
        ("where do i park", None),
        ("a person please", None),
        ("yes", None),
        ("12345", None),
        ("", None),
    ],
)
def test_names_are_cleaned(text: str, name: str | None) -> None:
    assert clean_name(text) == name


async def test_booking_is_stored_and_a_second_customer_cannot_take_the_slot(
    redis: Redis,
) -> None:
    filled = {
        "service": "cleaning",
        "customer_name": "Sam Lee",
        "appointment_time": local(TUESDAY, 11).isoformat(),
        "booking_confirmed": True,
    }
    dispatcher = CollectingDispatcher()
    events = await ActionBookAppointment().run(
        dispatcher, make_tracker("y", "affirm", filled), DOMAIN
    )
    assert texts(dispatcher)[0].startswith("Booked: Tue")
    assert slots_of(events)["appointment_time"] is None
    upcoming = await redis_stores.appointments().upcoming("+15555550101", BIZ.now())
    assert [(a.service, a.start, a.name) for a in upcoming] == [
        ("cleaning", local(TUESDAY, 11), "Sam Lee")
    ]

    rival = CollectingDispatcher()
    await ActionBookAppointment().run(
        rival, make_tracker("y", "affirm", filled, sender="+15555550102"), DOMAIN
    )
    assert "just taken" in texts(rival)[0]
    assert await redis_stores.appointments().upcoming("+15555550102", BIZ.now()) == []


async def test_never_mind_leaves_the_form_and_forgets_its_answers(redis: Redis) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "never mind",
        "stop",
        {"service": "cleaning", "requested_slot": "customer_name"},
        active_loop="booking_form",
    )
    events = await ActionStopForm().run(dispatcher, tracker, DOMAIN)
    assert {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")}
        for e in events
        if e["event"] == "active_loop"
    ]
    assert slots_of(events)["service"] is None
    assert "Nothing was booked" in texts(dispatcher)[0]


AT_NAME = {
    "requested_slot": "customer_name",
    "service": "whitening",
}


@pytest.mark.parametrize(
    ("text", "intent", "name"),
    [
        ("Jo Park", "faq", "Jo Park"),
        ("June Price", "faq", "June Price"),
        ("Eve Sato", "inform", "Eve Sato"),
        ("Sunday Okafor", "inform", "Sunday Okafor"),
        ("Ms. Cancel", "cancel_appointment", "Ms. Cancel"),
    ],
)
async def test_the_answer_to_what_name_is_the_name_and_changes_nothing_else(
    redis: Redis, text: str, intent: str, name: str
) -> None:
    filled = {**AT_NAME, "appointment_time": local(TUESDAY, 11).isoformat()}
    slots, _ = await validate(text, filled, intent=intent)
    assert slots.get("customer_name") == name
    assert "appointment_time" not in slots and "service" not in slots


async def test_a_name_that_names_a_service_keeps_the_service_asked_for(
    redis: Redis,
) -> None:
    filled = {**AT_NAME, "appointment_time": local(TUESDAY, 11).isoformat()}
    slots, _ = await validate(
        "Faith Clean",
        filled,
        {"service": "cleaning"},
        entities=[{"entity": "service", "value": "cleaning"}],
    )
    assert slots["customer_name"] == "Faith Clean"
    assert slots["service"] == "whitening"


async def test_a_question_at_the_name_step_is_not_a_name(redis: Redis) -> None:
    slots, _ = await validate("where do i park?", AT_NAME, intent="faq")
    assert slots == {}


async def test_a_name_given_with_the_booking_request_fills_the_name(
    redis: Redis,
) -> None:
    slots, _ = await validate(
        f"hi can i book a checkup {mdy(TUESDAY)} at 2pm, name is Maria Gomez",
        {"service": "checkup"},
        {"service": "checkup"},
        intent="book_appointment",
    )
    assert slots["customer_name"] == "Maria Gomez"
    assert slots["appointment_time"] == local(TUESDAY, 14).isoformat()


async def test_a_month_in_a_name_is_not_read_as_a_date(redis: Redis) -> None:
    slots, _ = await validate(
        f"book me a cleaning {mdy(TUESDAY)} 10am please, this is June Price",
        {"service": "cleaning"},
        {"service": "cleaning"},
        intent="book_appointment",
    )
    assert slots["customer_name"] == "June Price"
    assert slots["appointment_time"] == local(TUESDAY, 10).isoformat()


@pytest.mark.parametrize(
    "text",
    ["book a cleaning for friday", "i'm free tomorrow", "this is urgent", "it's me"],
)
def test_words_after_this_is_or_im_that_are_not_a_name(text: str) -> None:
    assert name_in_text(text) is None


# A customer with an upcoming appointment who starts a booking: move it or another?

FORM_SLOTS = DOMAIN["forms"]["booking_form"]["required_slots"]


async def required(slots: dict) -> list[str]:
    tracker = make_tracker("book a cleaning", "book_appointment", slots)
    return await ValidateBookingForm().required_slots(
        FORM_SLOTS, CollectingDispatcher(), tracker, DOMAIN
    )


async def book_one(day=TUESDAY, hour: int = 10):
    return await redis_stores.appointments().book(
        CUSTOMER, BIZ.service("cleaning"), local(day, hour), "Sam"
    )


async def test_without_an_upcoming_appointment_the_booking_asks_no_extra_question(
    redis: Redis,
) -> None:
    assert await required({}) == [s for s in FORM_SLOTS if s != "booking_or_move"]


async def test_with_an_upcoming_appointment_it_asks_move_or_another_first(
    redis: Redis,
) -> None:
    await book_one()
    assert (await required({}))[0] == "booking_or_move"
    said, _ = await ask(ActionAskBookingOrMove(), {})
    assert said[0].startswith("You have a cleaning on Tue")
    assert "10:00am" in said[0]
    assert said[0].endswith("Reply 1 to move it, 2 to book another.")


@pytest.mark.parametrize(
    ("answer", "choice"),
    [
        ("1", "move"),
        ("move it", "move"),
        ("reschedule it pls", "move"),
        ("2", "another"),
        ("book another", "another"),
        ("a new one, keep the other", "another"),
        ("the second", "another"),
        ("hmm", None),
        ("move it or book another", None),
    ],
)
def test_move_or_another_reads_the_answer(answer: str, choice: str | None) -> None:
    assert move_or_another(answer) == choice


async def test_two_books_another_and_the_booking_goes_on(redis: Redis) -> None:
    await book_one()
    slots, _ = await validate("2", {"requested_slot": "booking_or_move"})
    assert slots["booking_or_move"] == "another"
    assert await required({"booking_or_move": "another"}) == FORM_SLOTS[1:]


async def test_book_another_read_as_stop_by_nlu_is_still_the_choice(
    redis: Redis,
) -> None:
    await book_one()
    slots, _ = await validate(
        "book another", {"requested_slot": "booking_or_move"}, intent="stop"
    )
    assert slots["booking_or_move"] == "another"


async def test_an_unclear_answer_is_asked_again_saying_so(redis: Redis) -> None:
    await book_one()
    slots, _ = await validate("hmm", {"requested_slot": "booking_or_move"})
    assert slots["booking_or_move"] is None
    said, _ = await ask(ActionAskBookingOrMove(), {"requested_slot": "booking_or_move"})
    assert said[0].startswith("Sorry, I didn't get that. You have a cleaning")


async def test_one_with_a_time_in_the_request_moves_the_appointment_there(
    redis: Redis,
) -> None:
    appointment = await book_one()
    assert await required({"booking_or_move": "move"}) == []
    thursday = next_weekday(3)
    said, _ = await ask(
        ActionBookAppointment(),
        {
            "booking_or_move": "move",
            "service": "cleaning",
            "appointment_time": local(thursday, 14).isoformat(),
        },
    )
    assert said[0].startswith("Moved: Thu") and "2:00pm" in said[0]
    stored = await redis_stores.appointments().upcoming(CUSTOMER, BIZ.now())
    assert [(a.id, a.start) for a in stored] == [(appointment.id, local(thursday, 14))]


async def test_one_without_a_time_goes_on_to_ask_when_instead(redis: Redis) -> None:
    appointment = await book_one()
    dispatcher = CollectingDispatcher()
    events = await ActionBookAppointment().run(
        dispatcher,
        make_tracker("1", slots={"booking_or_move": "move"}),
        DOMAIN,
    )
    assert texts(dispatcher) == []
    assert {"event": "followup", "name": "reschedule_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]
    assert slots_of(events)["booking_or_move"] is None
    stored = await redis_stores.appointments().upcoming(CUSTOMER, BIZ.now())
    assert [a.start for a in stored] == [appointment.start]
