"""credentials.yml values become checked settings, or a start-up error naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.settings import SettingsError, SmsSettings
from replytext.business_file import business_facts

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "account_sid": "AC" + "a" * 32,
    "auth_token": "secret",
    "public_url": "https://bot.example.com/",
    "numbers": "+15017122661, +14155552671",
    "messaging_service_sid": "",
}


def test_strings_are_converted_once() -> None:
    settings = SmsSettings.from_credentials(
        dict(GOOD, enabled="false", max_message_length="320", owner_lease_seconds="2.5")
    )
    assert settings.public_url == "https://bot.example.com"
    assert settings.numbers == ("+15017122661", "+14155552671")
    assert settings.messaging_service_sid is None
    assert settings.enabled is False
    assert settings.max_message_length == 320
    assert settings.owner_lease_seconds == 2.5
    assert settings.status_callback_url == (
        "https://bot.example.com/webhooks/twilio_sms/status"
    )


def test_defaults_are_safe() -> None:
    settings = SmsSettings.from_credentials(GOOD)
    assert settings.validate_signature is True
    assert settings.trust_forwarded_headers is False
    assert settings.max_message_length == 1600
    assert settings.api_base_url == "https://api.twilio.com"
    # PolyAI-style inactivity: warn after 24 h, close after 10 more minutes.
    assert settings.inactivity_warning_after_seconds == 24 * 3600
    assert settings.inactivity_grace_seconds == 600
    assert settings.inactivity_warning_message == (
        "Are you still there? Reply to keep this conversation open."
    )
    assert settings.contact_matching is True
    assert settings.auto_create_contacts is False
    assert settings.max_entry_attempts == 3  # then dead letter, failure message
    assert settings.dedupe_hours == 30 * 24  # a replayed webhook is a duplicate
    # A reply Twilio does not take is retried for 10 minutes, at most 1 min apart.
    assert settings.reply_retry_seconds == 600
    assert settings.reply_retry_max_interval_seconds == 60


def test_reply_comes_from_the_number_texted() -> None:
    settings = SmsSettings.from_credentials(GOOD)
    assert settings.sender_for("+14155552671") == "+14155552671"
    assert settings.sender_for("+19999999999") == "+15017122661"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"account_sid": "AC123"}, "account_sid"),
        ({"auth_token": ""}, "auth_token"),
        ({"public_url": "bot.example.com"}, "public_url"),
        ({"public_url": "https://bot.example.com/webhooks/x"}, "public_url"),
        ({"numbers": "555-1234"}, "numbers"),
        ({"numbers": "", "messaging_service_sid": ""}, "numbers"),
        ({"messaging_service_sid": "MG1"}, "messaging_service_sid"),
        ({"max_message_length": "40"}, "max_message_length"),
        ({"max_message_length": "1601"}, "max_message_length"),
        ({"max_message_length": "lots"}, "max_message_length"),
        ({"enabled": "maybe"}, "enabled"),
        ({"redis_url": "localhost:6379"}, "redis_url"),
        ({"max_lenght": "320"}, "max_lenght"),
        ({"inactivity_warning_after_seconds": "-1"}, "inactivity_warning_after"),
        ({"inactivity_grace_seconds": "0"}, "inactivity_grace_seconds"),
        ({"inactivity_grace_seconds": "10 min"}, "inactivity_grace_seconds"),
        ({"contact_matching": "sometimes"}, "contact_matching"),
        ({"max_entry_attempts": "0"}, "max_entry_attempts"),
        ({"reply_retry_seconds": "-1"}, "reply_retry_seconds"),
        ({"reply_retry_max_interval_seconds": "0"}, "reply_retry_max_interval"),
    ],
)
def test_bad_values_name_the_key(change: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError, match=key):
        SmsSettings.from_credentials(dict(GOOD, **change))


def test_messaging_service_alone_is_enough() -> None:
    settings = SmsSettings.from_credentials(
        dict(GOOD, numbers="", messaging_service_sid="MG" + "b" * 32)
    )
    assert settings.numbers == ()
    assert settings.messaging_service_sid == "MG" + "b" * 32


def test_the_repo_credentials_load_through_rasa(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rasa expands ${VAR} and builds our channel from the module path."""
    from rasa.core.run import create_http_input_channels

    for name, value in {
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "tok",
        "PUBLIC_URL": "https://bot.example.com",
        "TWILIO_NUMBERS": "+15017122661",
        "TWILIO_MESSAGING_SERVICE_SID": "",
        "TWILIO_API_BASE_URL": "http://127.0.0.1:8099",
        "REDIS_URL": "redis://127.0.0.1:6390/0",
        "REST_CHANNEL_SECRET": "",  # the REST channel, off
    }.items():
        monkeypatch.setenv(name, value)
    channels = create_http_input_channels(None, str(ROOT / "credentials.yml"))
    sms = [c for c in channels if c.name() == "twilio_sms"]
    assert len(sms) == 1
    settings = sms[0].settings
    assert settings.public_url == "https://bot.example.com"
    assert settings.api_base_url == "http://127.0.0.1:8099"
    assert settings.validate_signature is True
    assert "STOP" in settings.help_message
    name = business_facts()["name"]  # the business under test's
    assert settings.help_message.startswith(f"{name} assistant:")


def test_help_and_fallback_name_the_business_of_the_business_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUSINESS_FILE", str(ROOT / "examples/salon/business.yml"))
    settings = SmsSettings.from_credentials(
        dict(GOOD, help_message="{name}: text BOOK, or call {phone}.")
    )
    assert (
        settings.help_message == "Luna Hair Studio: text BOOK, or call (555) 010-0300."
    )
    with pytest.raises(SettingsError, match=r"fallback_message: only \{name\}"):
        SmsSettings.from_credentials(dict(GOOD, fallback_message="Call {staff}."))


def test_turning_signatures_off_warns_at_start_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from connectors.twilio_sms import TwilioSmsInput

    with caplog.at_level("WARNING"):
        channel = TwilioSmsInput.from_credentials(
            dict(GOOD, validate_signature="false")
        )
    assert channel.settings.validate_signature is False
    assert "validate_signature is OFF" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        TwilioSmsInput.from_credentials(GOOD)
    assert "validate_signature" not in caplog.text
