"""Session start, FAQ answers from the business file, and the hand-off."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from rasa_sdk.executor import CollectingDispatcher
from redis.asyncio import Redis

from actions.business import Service, business, load_business
from actions.faq import ANSWERS, ActionAnswerFaq, faq_answer, opening_hours
from actions.handoff import ActionHandoff
from actions.replies import compose
from actions.session import ActionSessionStart, business_slots, greeting
from redisio import keys as redis_keys
from tests.actions.trackers import (
    DOMAIN,
    assert_sms_shaped,
    make_tracker,
    slots_of,
    texts,
)
from tools.business_folder import business_folder

BIZ = business()


async def start_session(
    slots: dict | None = None,
    metadata: dict | None = None,
    input_channel: str | None = None,
    events: list | None = None,
):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "",
        slots={**(slots or {}), "session_started_metadata": metadata},
        input_channel=input_channel,
    )
    if events is None:  # a brand-new conversation: no earlier user message
        tracker.events = []
    events_out = await ActionSessionStart().run(dispatcher, tracker, DOMAIN)
    assert_sms_shaped(dispatcher)
    return texts(dispatcher), events_out


async def test_sms_session_names_the_business() -> None:
    said, events = await start_session(metadata={"channel_type": "sms"})
    assert said == [f"Hi, this is {BIZ.name}."]
    assert slots_of(events)["channel_type"] == "sms"
    assert events[0]["event"] == "session_started"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")


async def test_rest_and_shell_get_their_own_greeting() -> None:
    said, events = await start_session(metadata={"channel_type": "rest"})
    assert slots_of(events)["channel_type"] == "rest" and "assistant" in said[0]
    said, events = await start_session()
    assert slots_of(events)["channel_type"] == "cmdline" and "test shell" in said[0]
    first = business().services[0].name  # the example is the business's own
    assert f"e.g. 'book a {first} tue 3pm'" in said[0]


def test_the_shell_example_names_another_businesss_service() -> None:
    salon = replace(
        business(), name="Cut & Colour", services=(Service("cut", "haircut", 45, 40),)
    )
    assert greeting("cmdline", salon, None).endswith("e.g. 'book a haircut tue 3pm'.")
    assert greeting("sms", salon, "Ana") == "Hi Ana, this is Cut & Colour."


async def test_a_later_session_reads_the_channel_from_the_last_message() -> None:
    _, events = await start_session(input_channel="twilio_sms", events=[])
    assert slots_of(events)["channel_type"] == "sms"


async def test_only_the_name_carries_over_and_the_greeting_uses_it() -> None:
    said, events = await start_session(
        slots={
            "customer_name": "Sam Lee",
            "service": "cleaning",
            "appointment_time": "x",
        },
        metadata={"channel_type": "sms"},
    )
    assert said == [f"Hi Sam Lee, this is {BIZ.name}."]
    assert set(slots_of(events)) == {
        "channel_type",
        "customer_name",
        "business_name",
        "service_example",
    }


@pytest.mark.parametrize(
    ("folder", "hint", "bot"),
    [
        ("", "e.g. book a cleaning.", "of Bright Smile Dental."),
        ("examples/salon", "e.g. book a haircut.", "of Luna Hair Studio."),
    ],
)
async def test_the_domains_replies_name_the_business_file_s_facts(
    folder: str, hint: str, bot: str
) -> None:
    """Each business's domain.yml keeps the wording, its business file the facts:
    the replies as Rasa's own response generator fills them after session start."""
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker

    paths = business_folder(folder)
    domain = Domain.load(str(paths.domain))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    tracker = DialogueStateTracker("c", domain.slots)

    async def reply(name: str) -> str:
        out = await nlg.generate(name, tracker, "twilio_sms")
        assert out is not None
        return str(out["text"])

    # Before the session starts (a tracker from before this version): no braces.
    assert (await reply("utter_offer_human")).endswith("e.g. book an appointment.")
    assert (await reply("utter_iamabot")).startswith(
        "I'm the automated assistant of this business."
    )
    for event in business_slots(load_business(paths.business_file)):
        tracker.update(Event.from_parameters(event))
    assert (await reply("utter_offer_human")).endswith(hint)
    assert (await reply("utter_iamabot")).startswith(
        f"I'm the automated assistant {bot}"
    )


async def test_a_matched_contact_fills_the_name_and_the_greeting_uses_it() -> None:
    contact = {"name": "Jane Doe", "email": None, "tags": ["vip"], "source": "import"}
    said, events = await start_session(
        metadata={"channel_type": "sms", "contact": contact}
    )
    assert said == [f"Hi Jane Doe, this is {BIZ.name}."]
    assert slots_of(events)["customer_name"] == "Jane Doe"
    # The business's record wins over the name carried from the last session.
    said, events = await start_session(
        slots={"customer_name": "J"},
        metadata={"channel_type": "sms", "contact": contact},
    )
    assert slots_of(events)["customer_name"] == "Jane Doe"
    # A contact without a name changes nothing.
    said, _ = await start_session(
        metadata={"channel_type": "sms", "contact": {**contact, "name": None}}
    )
    assert said == [f"Hi, this is {BIZ.name}."]


def test_hours_are_said_from_the_business_file() -> None:
    assert opening_hours(BIZ) == (
        "Mon-Thu 8:00am-6:00pm, Fri 8:00am-4:00pm, Sat 9:00am-1:00pm; closed Sun"
    )


@pytest.mark.parametrize("topic", sorted(ANSWERS))
def test_every_faq_answer_is_short_plain_and_uses_the_facts(topic: str) -> None:
    answer = faq_answer(topic, BIZ)
    assert answer and compose(answer) == answer and len(answer) <= 320
    facts = {
        "hours": "Sat 9:00am-1:00pm",
        "location": BIZ.address,
        "parking": "parking",
        "services": "whitening",
        "prices": "cleaning $120",
        "insurance": "Delta Dental",
        "cancellation_policy": "$25",
        "contact": BIZ.phone,
    }
    assert facts[topic] in answer


async def test_faq_action_answers_the_selected_topic() -> None:
    dispatcher = CollectingDispatcher()
    selector = {"faq": {"response": {"intent_response_key": "faq/insurance"}}}
    tracker = make_tracker(
        "do u take cigna", "faq", extra_message={"response_selector": selector}
    )
    await ActionAnswerFaq().run(dispatcher, tracker, DOMAIN)
    assert texts(dispatcher) == [
        "Yes, we accept Delta Dental, Cigna, Aetna and MetLife."
    ]


async def test_handoff_records_the_request_tells_the_customer_and_pauses(
    redis: Redis,
) -> None:
    dispatcher = CollectingDispatcher()
    history = [
        {"event": "user", "text": "book a cleaning"},
        {
            "event": "bot",
            "text": "A cleaning takes 45 min ($120). What day and time suit you?",
        },
    ]
    tracker = make_tracker(
        "can i talk to someone",
        "request_human",
        {"channel_type": "sms", "requested_slot": "appointment_time"},
        events=history,
        active_loop="booking_form",
    )
    events = await ActionHandoff().run(dispatcher, tracker, DOMAIN)
    assert texts(dispatcher)[0].startswith(
        "Sure. A team member will text you back here"
    )
    assert events[-1]["event"] == "pause"

    stored = json.loads(await redis.hget(redis_keys.HANDOFF_PENDING, "+15555550101"))
    assert stored["channel"] == "sms"
    assert stored["last_messages"] == [
        "customer: book a cleaning",
        "bot: A cleaning takes 45 min ($120). What day and time suit you?",
        "customer: can i talk to someone",
    ]
    assert await redis.xlen(redis_keys.HANDOFF_REQUESTS) == 1


def test_every_domain_response_is_plain_sms_text() -> None:
    for name, variants in DOMAIN["responses"].items():
        for variant in variants:
            text = variant["text"]
            assert compose(text) == text, name
            assert len(text) <= 320, name
            assert "YES" not in text and "CANCEL" not in text, name
