"""The rules of one turn, without Redis, Rasa or processes (connectors/turn_rules)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connectors.turn_rules import (
    MEDIA_ONLY_TEXT,
    Resume,
    Start,
    after_failure,
    contact_metadata,
    how_to_start,
    options_offered,
    resume_started_turn,
    text_for_turn,
    with_failure_message,
)
from replytext.options import Option
from tests.properties import property_settings

TIMES = [Option("9:00am", "2026-03-03T09:00"), Option("10:00am", "2026-03-03T10:00")]


def test_help_is_answered_without_a_turn_whatever_the_session() -> None:
    for initiate in (True, False):
        for active in (True, False):
            assert how_to_start("help", initiate, active) is Start.HELP


def test_an_outbound_only_deployment_answers_only_active_conversations() -> None:
    assert how_to_start("message", False, False) is Start.NONE
    assert how_to_start("message", False, True) is Start.TURN
    assert how_to_start("message", True, False) is Start.TURN


def resume(**given: object) -> Resume:
    args: dict = {
        "parts_stored": False,
        "in_tracker": False,
        "record_exists": True,
        "silent_seconds": 0.0,
        "stale_after": 30.0,
        "reclaim_after": 5.0,
    }
    args.update(given)
    return resume_started_turn(**args).action


def test_a_turn_that_ended_is_answered_from_what_it_made_never_run_again() -> None:
    assert resume(parts_stored=True) is Resume.SEND_STORED
    assert resume(parts_stored=True, silent_seconds=999) is Resume.SEND_STORED
    # The worker died after Rasa saved the turn, before the parts were stored.
    assert resume(in_tracker=True, silent_seconds=999) is Resume.SEND_FROM_TRACKER


def test_a_live_turn_is_waited_for_and_a_silent_one_taken_over() -> None:
    assert resume(silent_seconds=29.0) is Resume.WAIT
    assert resume(silent_seconds=30.0) is Resume.TAKE_OVER
    assert resume(record_exists=False) is Resume.START


def test_the_wait_for_a_live_turn_ends_when_it_would_go_stale() -> None:
    step = resume_started_turn(
        parts_stored=False,
        in_tracker=False,
        record_exists=True,
        silent_seconds=28.0,
        stale_after=30.0,
        reclaim_after=5.0,
    )
    assert (step.action, step.wait_seconds) == (Resume.WAIT, 2.0)


@property_settings(max_examples=300)
@given(
    parts_stored=st.booleans(),
    in_tracker=st.booleans(),
    record_exists=st.booleans(),
    silent=st.floats(0, 1e6),
    stale_after=st.floats(0, 1e4),
    reclaim_after=st.floats(0, 1e4),
)
def test_a_turn_that_ran_is_never_run_again_and_no_wait_is_zero(
    parts_stored: bool,
    in_tracker: bool,
    record_exists: bool,
    silent: float,
    stale_after: float,
    reclaim_after: float,
) -> None:
    step = resume_started_turn(
        parts_stored=parts_stored,
        in_tracker=in_tracker,
        record_exists=record_exists,
        silent_seconds=silent,
        stale_after=stale_after,
        reclaim_after=reclaim_after,
    )
    if parts_stored or in_tracker:
        assert step.action in (Resume.SEND_STORED, Resume.SEND_FROM_TRACKER)
    if step.action in (Resume.WAIT, Resume.TAKE_OVER):
        assert step.wait_seconds >= 0.1  # no busy loop on a record
    if step.action is Resume.TAKE_OVER:
        assert silent >= stale_after


def test_a_numbered_pick_becomes_the_payload_of_the_option_offered_last() -> None:
    assert text_for_turn("2", False, TIMES) == "2026-03-03T10:00"
    assert text_for_turn("the first one", False, TIMES) == "2026-03-03T09:00"
    assert text_for_turn("2", False, []) == "2"  # nothing offered: just a number
    assert text_for_turn("what about friday", False, TIMES) == "what about friday"


def test_a_picture_alone_is_a_turn_and_an_empty_text_stays_empty() -> None:
    assert text_for_turn("  ", True, TIMES) == MEDIA_ONLY_TEXT
    assert text_for_turn("", False, TIMES) == ""
    assert text_for_turn("2", True, TIMES) == "2026-03-03T10:00"  # words win


def test_buttons_without_a_payload_are_picked_by_their_title() -> None:
    offered = options_offered(
        [
            {"title": "Cleaning", "payload": '/book{"service":"cleaning"}'},
            {"title": "Talk to a person"},
        ]
    )
    assert offered == [
        Option("Cleaning", '/book{"service":"cleaning"}'),
        Option("Talk to a person", "Talk to a person"),
    ]
    assert text_for_turn("2", False, offered) == "Talk to a person"


def test_a_failed_turn_ends_with_the_failure_message_once() -> None:
    assert with_failure_message(["Booked."], False, "Sorry") == ["Booked."]
    assert with_failure_message(["Booked."], True, "Sorry") == ["Booked.", "Sorry"]
    assert with_failure_message([], True, "Sorry") == ["Sorry"]


def test_a_failing_entry_is_retried_until_its_last_attempt_then_given_up() -> None:
    assert after_failure(1, 3, now=100.0, retry_after=0.5).retry_at == 100.5
    assert not after_failure(2, 3, now=100.0, retry_after=0.5).give_up
    assert after_failure(3, 3, now=100.0, retry_after=0.5).give_up
    assert after_failure(4, 3, now=100.0, retry_after=0.5).give_up


def test_a_known_contact_goes_into_the_metadata_by_name() -> None:
    assert contact_metadata("Ana", None, ("vip",), "import") == {
        "contact": {"name": "Ana", "email": None, "tags": ["vip"], "source": "import"}
    }
