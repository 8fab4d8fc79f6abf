"""What reaches a log handler: no full number, no secret, no text at INFO and up."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import log_privacy
from connectors.log_privacy import mask_number, redact


def test_a_number_keeps_only_its_ends() -> None:
    assert mask_number("+14155552671") == "+1415***2671"
    assert redact("from +14155552671 to +15017122661") == (
        "from +1415***2671 to +1501***2661"
    )
    assert redact("GET /conversations/%2B14155552671/tracker") == (
        "GET /conversations/+1415***2671/tracker"
    )
    assert redact("sms:{+14155552671}:queue") == "sms:{+1415***2671}:queue"


@given(
    digits=st.text(alphabet="0123456789", min_size=8, max_size=15),
    before=st.sampled_from(["", " ", "id=", "{", "'", '"', "/", ":"]),
    after=st.sampled_from(["", " ", "}", "'", '"', ",", ":queue"]),
)
def test_no_full_number_survives(digits: str, before: str, after: str) -> None:
    line = redact(f"x {before}+{digits}{after} y")
    assert digits not in line
    assert digits[-4:] in line  # still tells customers apart


def test_url_passwords_and_registered_secrets_are_hidden() -> None:
    log_privacy.register_secret("tok-0123456789abcdef")
    assert redact("redis://:hunter2pass@10.0.0.5:6379/0 down") == (
        "redis://:***@10.0.0.5:6379/0 down"
    )
    assert redact("rediss://app:hunter2pass@h/1") == "rediss://app:***@h/1"
    assert "tok-0123456789abcdef" not in redact("token=tok-0123456789abcdef&x=1")


def test_structured_text_is_dropped_at_info_and_up_only() -> None:
    line = json.dumps(
        {"event": "rest.message.received.failure", "text": "cancel my appt"}
    )
    assert "cancel my appt" not in redact(line, keep_text=False)
    assert "rest.message.received.failure" in redact(line, keep_text=False)
    assert "cancel my appt" in redact(line, keep_text=True)
    kv = "rest.message.received.failure text='cancel my appt' sender=+14155552671"
    assert redact(kv, keep_text=False) == (
        'rest.message.received.failure text="[redacted]" sender=+1415***2671'
    )


def test_every_logger_goes_through_it(caplog: pytest.LogCaptureFixture) -> None:
    log_privacy.install()
    log_privacy.register_secret("s3cret-auth-token-value")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("rasa.core.processor").info(
        "Received user message from %s (token %s)",
        "+14155552671",
        "s3cret-auth-token-value",
    )
    try:
        raise ValueError("redis://:pw123456@h:1/0 refused for +14155552671")
    except ValueError:
        logging.getLogger("sanic.error").exception("failed")
    text = caplog.text
    assert "+1415***2671" in text
    assert "+14155552671" not in text and "s3cret-auth-token-value" not in text
    assert "pw123456" not in text


def test_settings_reprs_hold_no_secret() -> None:
    from connectors.settings import SmsSettings
    from redisio import RedisSettings

    sms = SmsSettings.from_credentials(
        {
            "account_sid": "AC" + "0" * 32,
            "auth_token": "twilio-secret-token-123",
            "public_url": "https://bot.example.com",
            "numbers": "+15017122661",
            "redis_url": "redis://:redis-pass-456@127.0.0.1:6390/0",
        }
    )
    assert "twilio-secret-token-123" not in repr(sms)
    redis = RedisSettings.from_endpoint(
        host="127.0.0.1",
        password="redis-pass-789",  # noqa: S106 - a test value
    )
    assert "redis-pass-789" not in repr(redis)
    # The URL form is in the repr, but never reaches a log line whole.
    assert "redis-pass-456" not in redact(repr(sms))
