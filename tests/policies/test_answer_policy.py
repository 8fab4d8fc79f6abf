"""AnswerPolicy and the not-a-name rule: a reply to "what name?" is the name."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from policies.answer_policy import PRIORITY, AnswerPolicy
from policies.answers import not_a_name
from tests.bank.personas import NAMES

ROOT = Path(__file__).parents[2]
DOMAIN = Domain.load(ROOT / "domain.yml")


@pytest.fixture
def policy(tmp_path: Path) -> AnswerPolicy:
    return AnswerPolicy.create(
        {**AnswerPolicy.get_default_config()},
        LocalModelStorage(tmp_path),
        Resource("answer_policy"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def waiting_for(slot: str, text: str, intent: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "+14155552671",
        [
            ActionExecuted("action_listen"),
            UserUttered("book a filling next monday 9am", {"name": "book_appointment"}),
            ActionExecuted("booking_form"),
            ActiveLoop("booking_form"),
            SlotSet("requested_slot", slot),
            ActionExecuted("action_ask_customer_name"),
            ActionExecuted("action_listen"),
            UserUttered(text, {"name": intent, "confidence": 0.9}),
        ],
        DOMAIN.slots,
    )


def predicted(policy: AnswerPolicy, tracker: DialogueStateTracker) -> str | None:
    prediction = policy.predict_action_probabilities(tracker, DOMAIN)
    if prediction.max_confidence == 0:
        return None
    assert prediction.policy_priority == PRIORITY
    return DOMAIN.action_names_or_texts[prediction.max_confidence_index]


@pytest.mark.parametrize("name", NAMES)
def test_every_bank_name_is_a_name(name: str) -> None:
    assert not_a_name(name) is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [("Jo Park", "faq"), ("June Price", "faq"), ("Ms. Cancel", "cancel_appointment")],
)
def test_a_name_that_nlu_reads_as_something_else_goes_to_the_form(
    policy: AnswerPolicy, text: str, intent: str
) -> None:
    assert (
        predicted(policy, waiting_for("customer_name", text, intent)) == "booking_form"
    )


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("where do i park?", "faq"),
        ("what time do you close", "faq"),
        ("never mind", "stop"),
        ("can I talk to a person", "request_human"),
        ("cancel my appointment", "cancel_appointment"),
        ("actually make it 4pm", "inform"),
        ("actually a checkup instead", "inform"),
        ("a filling instead", "book_appointment"),
        ("yes", "affirm"),
    ],
)
def test_what_is_plainly_something_else_is_left_to_the_other_policies(
    policy: AnswerPolicy, text: str, intent: str
) -> None:
    assert predicted(policy, waiting_for("customer_name", text, intent)) is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("sorry, the name is Jo Price", "faq"),
        ("the name is June Park actually", "faq"),
        ("put it under Summer Park", "faq"),
    ],
)
def test_a_name_stated_outright_at_another_step_goes_to_the_form(
    policy: AnswerPolicy, text: str, intent: str
) -> None:
    """At the confirmation, "sorry, the name is Jo Price" corrects the name."""
    tracker = waiting_for("booking_confirmed", text, intent)
    assert predicted(policy, tracker) == "booking_form"


@pytest.mark.parametrize(
    "text", ["where do i park? the name is fine", "how much is it", "Jo Price"]
)
def test_no_stated_name_at_another_step_is_left_to_the_rules(
    policy: AnswerPolicy, text: str
) -> None:
    assert predicted(policy, waiting_for("booking_confirmed", text, "faq")) is None


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("2", "inform", "booking_form"),
        ("book another", "stop", "booking_form"),
        ("move it", "reschedule_appointment", "booking_form"),
        ("never mind", "stop", None),
        ("where do i park?", "faq", None),
    ],
)
def test_move_or_another_takes_only_a_choice(
    policy: AnswerPolicy, text: str, intent: str, expected: str | None
) -> None:
    tracker = waiting_for("booking_or_move", text, intent)
    assert predicted(policy, tracker) == expected


def test_only_a_free_text_question_is_answered_this_way(policy: AnswerPolicy) -> None:
    assert predicted(policy, waiting_for("appointment_time", "Jo Park", "faq")) is None


def test_a_bad_setting_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="free_text_slots"):
        AnswerPolicy.create(
            {"priority": 7, "free_text_slots": "customer_name"},
            LocalModelStorage(tmp_path),
            Resource("answer_policy"),
            ExecutionContext(GraphSchema({}), "test"),
        )


@given(
    st.tuples(
        st.text(max_size=20), st.sampled_from(["?", "3", "10:30"]), st.text(max_size=20)
    ).map("".join)
)
def test_a_question_mark_or_a_digit_is_never_a_name(text: str) -> None:
    assert not_a_name(text) is not None
