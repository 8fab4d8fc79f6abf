"""Twilio refusing every send for a while (a 20429 storm, or Twilio unreachable),
on real processes: the replies are kept and retried with backoff, and when Twilio
takes sends again every reply arrives exactly once, in the order of the texts.

The refusal lasts 20 s; the backoff is capped at 1 s
(`reply_retry_max_interval_seconds`) instead of 60 s, to keep the suite short.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from redisio import keys as redis_keys
from tests.e2e.business import GREETING
from tools.harness.redis_server import RedisServer
from tools.harness.sms_stack import SmsStack

REFUSE_SECONDS = 20


@pytest.fixture(scope="module")
def stack(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SmsStack]:
    sms = SmsStack(
        redis_server,
        tmp_path_factory.mktemp("sms-retry"),
        {"send_attempts": 2, "reply_retry_max_interval_seconds": 1},
        db=8,
    )
    try:
        yield sms.start()
    finally:
        sms.stop()


def test_replies_refused_for_a_while_arrive_once_each_in_order(
    stack: SmsStack,
) -> None:
    phone = "+14155550401"
    stack.emulator_config(refuse_sends_ms=REFUSE_SECONDS * 1000)
    refused_until = time.monotonic() + REFUSE_SECONDS
    stack.text(phone, "hi")
    stack.text(phone, "what are your hours")
    replies = stack.replies(phone, 2, timeout=60)
    assert time.monotonic() >= refused_until - 0.5  # none went while refused
    assert len(stack.settled(phone)) == 2  # and none went twice
    assert replies[0]["body"].startswith(GREETING)
    assert "We're open" in replies[1]["body"]
    assert stack.user_texts(phone) == ["hi", "what are your hours"]  # one turn each
    assert stack.redis().llen(redis_keys.FAILED_SENDS) == 0
