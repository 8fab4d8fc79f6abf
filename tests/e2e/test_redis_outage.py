"""A Redis outage must not silently restart conversations: while Redis is down the
webhook answers 503 (Twilio then tries the fallback URL) and stores nothing; when
Redis is back, the conversation goes on where it was. Real redis-server, stopped and
started again with its append-only file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.sms_stack import SmsStack, http
from tests.redis_server import RedisServer


@pytest.fixture(scope="module")
def outage_redis() -> Iterator[RedisServer]:
    server = RedisServer(appendonly=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(
    outage_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SmsStack]:
    sms = SmsStack(outage_redis, tmp_path_factory.mktemp("sms-outage"), db=0)
    try:
        yield sms.start()
    finally:
        sms.stop()


def test_the_conversation_survives_a_redis_outage(
    stack: SmsStack, outage_redis: RedisServer
) -> None:
    phone = "+14155550301"
    stack.text(phone, "i want to book a cleaning")
    asked = stack.replies(phone, 1)[-1]["body"]
    assert "day and time" in asked.lower() or "when" in asked.lower(), asked

    outage_redis.pause()
    try:
        during = stack.text(phone, "tomorrow at 10am")
        assert during["status"] == 503  # not stored: Twilio goes to the fallback URL
        # The health route says what is down, so a load balancer takes this
        # replica out until Redis is back.
        status, health = http("GET", f"{stack.public_url}/webhooks/twilio_sms/")
        assert (status, health["down"]) == (503, ["redis"]), health
    finally:
        outage_redis.resume()
    status, health = http("GET", f"{stack.public_url}/webhooks/twilio_sms/")
    assert (status, health["status"]) == (200, "ok"), health

    # Twilio's retry (or the customer) sends it again once Redis is back.
    stack.text(phone, "tomorrow at 10am")
    replies = stack.replies(phone, 2, timeout=60)
    assert replies[-1]["body"] == "What name should I put the appointment under?"
    assert "Hi, this is" not in replies[-1]["body"]  # not a new conversation
    assert stack.user_texts(phone) == ["i want to book a cleaning", "tomorrow at 10am"]
