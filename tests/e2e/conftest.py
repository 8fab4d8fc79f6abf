"""Fixtures shared by end-to-end modules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from tools.harness.redis_server import RedisServer
from tools.harness.sms_stack import SMS_API_KEY, SmsStack

#: A second business API key with a bucket of its own (the rate-limit test).
LIMITED_KEY = "e2e-limited-key-0123456789abc"  # noqa: S105 - tests only
#: A key for the schema-driven test, so its requests use nobody else's bucket.
FUZZ_KEY = "e2e-fuzz-key-0123456789abcdef"  # noqa: S105 - tests only


def quiet_for_two_hours() -> str:
    """SMS_SEND_HOURS (UTC) closed from a minute ago until two hours from now."""
    now = datetime.now(timezone.utc)
    return f"{now + timedelta(hours=2):%H:%M}-{now - timedelta(minutes=1):%H:%M}"


@pytest.fixture(scope="session")
def business_stack(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SmsStack]:
    """The stack the business API's modules share (one start: about a minute).

    It starts in quiet hours (UTC); sends that must go now say "urgent". The
    last test of test_outbound_api.py restarts it with the day open.
    """
    sms = SmsStack(
        redis_server,
        tmp_path_factory.mktemp("business"),
        ingress=True,
        db=11,
        api_env={
            "SMS_API_KEYS": (
                f"e2e:{SMS_API_KEY},limited:{LIMITED_KEY},fuzz:{FUZZ_KEY}"
            ),
            "SMS_API_RATE_PER_MINUTE": "60",
            "SMS_API_BURST": "20",
            "SMS_SEND_HOURS": quiet_for_two_hours(),
            "SMS_TIME_ZONE": "UTC",
            # A repeated request waits 2 s, not 30, for the first one's answer
            # before its 409 in_progress (test_openapi.py waits for one).
            "SMS_API_IDEMPOTENCY_WAIT_SECONDS": "2",
        },
    )
    try:
        yield sms.start()
    finally:
        sms.stop()
