"""Channel settings that change what happens to a text, on real processes:
`enabled`, `initiate_from_inbound`, and the failure text when a turn fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from redisio import keys as redis_keys
from tools.harness.redis_server import RedisServer
from tools.harness.sms_stack import BUSINESS, SmsStack, http


@pytest.fixture(scope="module")
def stack(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SmsStack]:
    sms = SmsStack(
        redis_server, tmp_path_factory.mktemp("sms-settings"), {"enabled": False}, db=6
    )
    try:
        yield sms.start()
    finally:
        sms.stop()


def test_disabled_answers_200_and_runs_no_turn(stack: SmsStack) -> None:
    phone = "+14155550201"
    result = stack.text(phone, "hi")
    assert result["status"] == 200 and "<Response" in result["response_body"]
    assert stack.settled(phone) == []
    assert stack.redis().llen(redis_keys.queue(phone)) == 0


def test_disabled_sends_nothing_but_keeps_every_opt_out(stack: SmsStack) -> None:
    """Switched off, the assistant texts nobody (replies, the business API), but a
    STOP is recorded, and START opts a number that opted out back in."""
    stopping, starting, other = "+14155550211", "+14155550212", "+14155550213"
    db = stack.redis()
    stack.text(stopping, "STOP")
    assert db.hlen(redis_keys.opt_out(stopping)) == 1
    db.hset(redis_keys.opt_out(starting), BUSINESS, "1")  # opted out earlier
    stack.text(starting, "START")
    assert db.hlen(redis_keys.opt_out(starting)) == 0
    stack.text(other, "START")  # never opted out: an answer, and none is given
    assert db.llen(redis_keys.queue(other)) == 0
    status, body = stack.business_api(
        "POST", "/sms/outbound", {"to": other, "message": "hello", "urgent": True}
    )
    assert (status, body["error"]) == (503, "disabled")
    for phone in (stopping, starting, other):
        assert stack.settled(phone) == []


def test_no_turn_for_a_number_without_a_session(stack: SmsStack) -> None:
    stack.restart_rasa(initiate_from_inbound=False)
    stranger, known = "+14155550202", "+14155550203"
    stack.text(stranger, "hi")
    assert stack.settled(stranger) == []
    # The business started a conversation with `known` (its systems use the HTTP
    # API); that customer's reply gets its turn.
    status, _ = http(
        "POST",
        stack.api(f"/conversations/{known}/tracker/events"),
        [
            {"event": "action", "name": "action_session_start"},
            {"event": "session_started"},
            {"event": "action", "name": "action_listen"},
            {"event": "bot", "text": "Your appointment is tomorrow."},
        ],
    )
    assert status == 200
    stack.text(known, "what are your hours")
    assert "We're open" in stack.replies(known, 1)[0]["body"]


def test_a_failed_turn_sends_the_failure_text_once(stack: SmsStack) -> None:
    stack.restart_rasa(failure_message="Sorry, we hit a snag. Call us at 555-0100.")
    stack.kill("actions")  # every custom action now fails
    phone = "+14155550204"
    stack.text(phone, "hi")
    replies = stack.replies(phone, 1)
    assert len(stack.settled(phone)) == 1
    assert replies[0]["body"].count("Sorry, we hit a snag. Call us at 555-0100.") == 1
