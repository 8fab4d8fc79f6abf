"""A Redis outage must not silently restart conversations: while Redis is down the
webhook answers 503 (Twilio then tries the fallback URL) and stores nothing; when
Redis is back, the conversation goes on where it was. Real redis-server, stopped and
started again with its append-only file.

The same stack runs with a Redis password and every server at DEBUG, so that its
logs show what an operator's log store would receive: no full phone number, no
secret, and no customer text at INFO or above."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from redisio import keys as redis_keys
from tests.e2e.business import SERVICE, a, mdy, next_weekday, open_day
from tools.harness.redis_server import RedisServer
from tools.harness.sms_stack import API_TOKEN, AUTH_TOKEN, SmsStack, http

REDIS_PASSWORD = "e2e-redis-password-4711"  # noqa: S105 - tests only
LEVEL = re.compile(r"\b(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b|\"log_level\": \"(\w+)\"")


@pytest.fixture(scope="module")
def outage_redis() -> Iterator[RedisServer]:
    server = RedisServer(appendonly=True, password=REDIS_PASSWORD)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(
    outage_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SmsStack]:
    sms = SmsStack(
        outage_redis, tmp_path_factory.mktemp("sms-outage"), db=0, debug=True
    )
    try:
        yield sms.start()
    finally:
        sms.stop()


def test_the_conversation_survives_a_redis_outage(
    stack: SmsStack, outage_redis: RedisServer
) -> None:
    phone = "+14155550301"
    first, when = f"i want to book {a(SERVICE)}", f"{mdy(open_day())} at 10am"
    stack.text(phone, first)
    asked = stack.replies(phone, 1)[-1]["body"]
    assert "day and time" in asked.lower() or "when" in asked.lower(), asked

    outage_redis.pause()
    try:
        during = stack.text(phone, when)
        assert during["status"] == 503  # not stored: Twilio goes to the fallback URL
        # The health route says what is down, so a load balancer takes this
        # replica out until Redis is back.
        status, health = http("GET", f"{stack.public_url}/webhooks/twilio_sms/")
        assert (status, health["down"]) == (503, ["redis"]), health
    finally:
        outage_redis.resume()
    # Healthy again within a few load-balancer polls (the first ping after the
    # restart may still meet the dead connection and reconnect).
    deadline = time.monotonic() + 10
    while True:
        status, health = http("GET", f"{stack.public_url}/webhooks/twilio_sms/")
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (status, health["status"]) == (200, "ok"), health

    # Twilio's retry (or the customer) sends it again once Redis is back.
    stack.text(phone, when)
    replies = stack.replies(phone, 2, timeout=60)
    assert replies[-1]["body"] == "What name should I put the appointment under?"
    assert "Hi, this is" not in replies[-1]["body"]  # not a new conversation
    assert stack.user_texts(phone) == [first, when]


def reply_after(stack: SmsStack, phone: str, text: str, sent: int) -> str:
    """Text in; the last SMS of the reply (waits for the texts after `sent`)."""
    stack.text(phone, text)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (
            len(stack.sent_to(phone)) > sent
            and stack.redis().llen(redis_keys.queue(phone)) == 0
        ):
            return stack.sent_to(phone)[-1]["body"]
        time.sleep(0.2)
    raise AssertionError(f"no reply to {text!r}")


def log_lines(stack: SmsStack) -> list[tuple[str, str]]:
    """(level, line) of every line our servers logged; a line without a level
    (a traceback, a continuation) belongs to the record above it. The emulator
    plays Twilio: its log is Twilio's, not ours."""
    lines: list[tuple[str, str]] = []
    for name in ("rasa", "actions"):
        level = "INFO"
        for line in (stack.workdir / f"{name}.log").read_text().splitlines():
            found = LEVEL.search(line)
            if found:
                level = (found.group(1) or found.group(2)).upper()
            lines.append((level, line))
    return lines


def test_logs_hold_no_number_no_secret_and_no_customer_text_at_info(
    stack: SmsStack,
) -> None:
    phone = "+14155550377"
    day = next_weekday(1)
    said = [f"i want to book {a(SERVICE)} {mdy(day)} at 10am", "Zed Quinn", "y"]
    sent = len(stack.sent_to(phone))
    for text in said:
        last = reply_after(stack, phone, text, sent)
        sent = len(stack.sent_to(phone))
    assert last.startswith("Booked:"), last
    assert stack.user_texts(phone) == said  # the API, with its token in the URL

    lines = log_lines(stack)
    debug = [line for level, line in lines if level == "DEBUG"]
    assert any("Zed Quinn" in line for line in debug)  # DEBUG did log the turn
    digits = phone[1:]
    leaks = {
        "number": [line for _, line in lines if digits in line],
        "secret": [
            line
            for _, line in lines
            if any(s in line for s in (AUTH_TOKEN, API_TOKEN, REDIS_PASSWORD))
        ],
        "text at INFO+": [
            line
            for level, line in lines
            if level != "DEBUG" and any(text in line for text in said[:2])
        ],
    }
    assert leaks == {"number": [], "secret": [], "text at INFO+": []}
    assert any("+1415***0377" in line for _, line in lines)
    # The daily clean-up ran at start-up on one of the replicas, and is claimed.
    assert stack.redis().pttl(redis_keys.HOUSEKEEPING) > 0
