"""Stories from logs: nothing personal is left, sessions are cut where Rasa cuts
them, and the sessions worth fixing are the ones a person or a fallback ended."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.properties import property_settings
from tools.stories_from_logs import (
    NAME_STAND_IN,
    PHONE_STAND_IN,
    mask_events,
    mask_text,
    parse_since,
    sessions,
    worth_fixing,
)


def user(text: str, intent: str = "inform", entities: list | None = None) -> dict:
    return {
        "event": "user",
        "text": text,
        "timestamp": 1.0,
        "metadata": {
            "from": "+14155552671",
            "to": "+15017122661",
            "message_sid": "SM1",
        },
        "parse_data": {
            "text": text,
            "intent": {"name": intent},
            "entities": entities or [],
        },
    }


def action(name: str) -> dict:
    return {"event": "action", "name": name, "timestamp": 1.0}


def slot(name: str, value: object) -> dict:
    return {"event": "slot", "name": name, "value": value, "timestamp": 1.0}


def test_a_name_and_numbers_are_masked_everywhere_they_were_typed() -> None:
    events = [
        slot(
            "session_started_metadata",
            {"from": "+14155552671", "contact": {"name": "Dana Lee"}},
        ),
        action("action_session_start"),
        action("action_listen"),
        user(
            "book a cleaning for dana lee, call 415-555-0199 or dana@mail.com",
            "book_appointment",
            [{"entity": "service", "value": "cleaning", "start": 7, "end": 15}],
        ),
        slot("customer_name", "Dana Lee"),
    ]
    masked = mask_events(events)
    said = next(e for e in masked if e["event"] == "user")
    assert said["text"] == (
        f"book a cleaning for {NAME_STAND_IN}, call {PHONE_STAND_IN} or someone@example.com"
    )
    assert "metadata" not in said
    [entity] = said["parse_data"]["entities"]
    assert said["text"][entity["start"] : entity["end"]] == "cleaning"
    assert not [e for e in masked if e.get("name") == "session_started_metadata"]
    assert {
        "event": "slot",
        "name": "customer_name",
        "value": NAME_STAND_IN,
        "timestamp": 1.0,
    } in masked
    assert "Dana" not in str(masked) and "4155552671" not in str(masked)


def test_an_entity_after_a_masked_name_keeps_its_place() -> None:
    text = "sam lee here, a checkup please"
    events = [
        slot("customer_name", "Sam Lee"),
        user(
            text,
            entities=[
                {"entity": "service", "value": "checkup", "start": 16, "end": 23}
            ],
        ),
    ]
    said = mask_events(events)[1]
    [entity] = said["parse_data"]["entities"]
    assert said["text"][entity["start"] : entity["end"]] == "checkup"


@given(digits=st.text(alphabet="0123456789", min_size=10, max_size=12))
@property_settings(max_examples=50)
def test_no_phone_number_survives(digits: str) -> None:
    for written in (digits, "+" + digits, f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"):
        assert digits not in mask_text(f"call me on {written} pls", {}).replace(" ", "")


def test_each_session_starts_at_the_customers_first_text() -> None:
    events = [
        action("action_session_start"),
        {"event": "bot", "text": "Hi, this is Bright Smile Dental."},
        action("action_listen"),
        user("hi", "greet"),
        action("utter_greet"),
        action("action_session_start"),  # the next day
        action("action_listen"),
        user("EXTERNAL: outbound_message", "outbound_message"),
        action("action_listen"),
        user("c", "affirm"),
        action("action_session_start"),  # a session nobody texted in
    ]
    cut = sessions(events)
    assert [[e.get("text") or e.get("name") for e in s] for s in cut] == [
        ["hi", "utter_greet"],
        ["c"],
    ]


def test_worth_fixing_means_a_person_or_a_fallback() -> None:
    assert worth_fixing(
        [user("can i talk to someone", "request_human"), action("action_handoff")]
    )
    assert worth_fixing([user("asdf", "nlu_fallback"), action("utter_reprompt")])
    assert not worth_fixing([user("hi", "greet"), action("utter_greet")])


@pytest.mark.parametrize(
    ("text", "seconds"), [("7d", 604800), ("24h", 86400), ("30m", 1800)]
)
def test_since_reads_days_hours_and_minutes(text: str, seconds: int) -> None:
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text", ["7", "d", "1w", "-1d", ""])
def test_a_bad_since_says_what_it_expects(text: str) -> None:
    with pytest.raises(ValueError, match="7d, 24h, 30m"):
        parse_since(text)
