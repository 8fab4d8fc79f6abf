"""What a caller of POST /sms/outbound is told about a bad body, and the API's
settings from the environment: each mistake a clear 400 (or a start-up error)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.errors import ApiError
from api.keys import ApiKeys
from api.outbound_request import parse_body, read_request
from api.quiet_hours import SendWindow
from api.settings import ApiSettings, ApiSettingsError

TO = "+14155552671"


def error_of(data: dict, max_length: int = 1600) -> tuple[int, str, str]:
    with pytest.raises(ApiError) as caught:
        read_request(data, max_length)
    return caught.value.status, caught.value.code, caught.value.detail


def test_a_good_request_is_read_with_its_defaults() -> None:
    request = read_request({"to": TO, "message": "  Hello  "}, 1600)
    assert request.to == TO
    assert request.message == "Hello"
    assert request.slots == {} and not request.urgent and not request.when_allowed
    assert request.action is None


def test_a_template_names_the_action_that_writes_it() -> None:
    request = read_request(
        {"to": TO, "template": "reminder", "slots": {"appointment_id": "a1"}}, 1600
    )
    assert request.action == "action_remind_appointment"
    assert request.slots == {"appointment_id": "a1"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "invalid_json"),
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(raw: bytes, code: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_body(raw)
    assert (caught.value.status, caught.value.code) == (400, code)


@pytest.mark.parametrize(
    ("data", "code", "words"),
    [
        ({"message": "hi"}, "invalid_request", "to is required"),
        ({"to": "4155552671", "message": "hi"}, "invalid_number", "E.164"),
        ({"to": "+1 415 555 2671", "message": "hi"}, "invalid_number", "E.164"),
        ({"to": "+1415", "message": "hi"}, "invalid_number", "E.164"),
        ({"to": TO, "message": "hi", "agent_number": "555"}, "invalid_number", "agent"),
        ({"to": TO}, "empty_message", "message is required"),
        ({"to": TO, "message": "   "}, "empty_message", "must not be empty"),
        ({"to": TO, "message": "x" * 1601}, "message_too_long", "1601 characters"),
        (
            {"to": TO, "message": "hi", "template": "reminder"},
            "invalid_request",
            "not both",
        ),
        ({"to": TO, "template": "birthday"}, "invalid_request", "unknown template"),
        ({"to": TO, "mesage": "hi"}, "invalid_request", "unknown field"),
        ({"to": TO, "message": "hi", "slots": [1]}, "invalid_request", "slots"),
        ({"to": TO, "message": "hi", "urgent": "yes"}, "invalid_request", "urgent"),
        ({"to": TO, "message": 5}, "invalid_request", "message must be a string"),
        ({"to": TO, "message": "hi", "idempotency_key": ""}, "invalid_request", "1 to"),
        (
            {"to": TO, "message": "hi", "urgent": True, "when_allowed": True},
            "invalid_request",
            "one of them",
        ),
    ],
)
def test_each_mistake_is_a_400_naming_it(data: dict, code: str, words: str) -> None:
    status, got, detail = error_of(data)
    assert (status, got) == (400, code)
    assert words in detail


def test_keys_are_named_and_matched_whole() -> None:
    keys = ApiKeys.parse("crm:" + "a" * 20 + ", " + "b" * 16)
    assert keys.name_of("a" * 20) == "crm"
    assert keys.name_of("b" * 16) == "key2"
    assert keys.name_of("a" * 19) is None
    assert keys.name_of("") is None and keys.name_of(None) is None
    assert "aaaa" not in repr(keys)
    assert not ApiKeys.parse("")


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"SMS_API_KEYS": "crm:short"}, "shorter than 16"),
        ({"SMS_API_KEYS": f"a:{'x' * 16},a:{'y' * 16}"}, "used twice"),
        ({"SMS_API_RATE_PER_MINUTE": "lots"}, "expected a number"),
        ({"SMS_API_BURST": "0"}, "above 0"),
        ({"SMS_SEND_HOURS": "8-21"}, "HH:MM-HH:MM"),
        ({"SMS_SEND_HOURS": "09:00-09:00"}, "empty"),
        ({"SMS_TIME_ZONE": "Mars/Olympus"}, "unknown time zone"),
        ({"SMS_REMINDERS_ENABLED": "sometimes"}, "true or false"),
    ],
)
def test_a_bad_setting_stops_the_start_naming_the_variable(
    env: dict[str, str], words: str
) -> None:
    with pytest.raises(ApiSettingsError) as caught:
        ApiSettings.from_env(env)
    assert words in str(caught.value)
    assert next(iter(env)) in str(caught.value)


def test_settings_default_to_the_business_time_zone_and_day_hours() -> None:
    settings = ApiSettings.from_env({})
    assert settings.time_zone == ZoneInfo("America/New_York")
    assert str(settings.send_window) == "08:00-21:00"
    assert not settings.keys and not settings.reminders_enabled


NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("at", "allowed"),
    [
        ("07:59", False),
        ("08:00", True),
        ("20:59", True),
        ("21:00", False),
        ("02:00", False),
    ],
)
def test_the_day_window(at: str, allowed: bool) -> None:
    hour, minute = (int(x) for x in at.split(":"))
    now = datetime(2026, 12, 2, hour, minute, tzinfo=NY)
    assert SendWindow.parse("08:00-21:00").allows(now) is allowed


def test_the_next_opening_is_today_or_tomorrow_morning() -> None:
    window = SendWindow.parse("08:00-21:00")
    early = datetime(2026, 12, 2, 6, 30, tzinfo=NY)
    late = datetime(2026, 12, 2, 22, 15, tzinfo=NY)
    assert window.next_open(early) == datetime(2026, 12, 2, 8, 0, tzinfo=NY)
    assert window.next_open(late) == datetime(2026, 12, 3, 8, 0, tzinfo=NY)


def test_a_window_past_midnight() -> None:
    window = SendWindow.parse("20:00-02:00")
    assert window.allows(datetime(2026, 12, 2, 23, 0, tzinfo=NY))
    assert window.allows(datetime(2026, 12, 2, 1, 0, tzinfo=NY))
    assert not window.allows(datetime(2026, 12, 2, 12, 0, tzinfo=NY))


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)),
    st.sampled_from(["08:00-21:00", "20:00-02:00", "00:00-24:00", "09:30-17:45"]),
)
def test_the_next_opening_is_allowed_and_never_earlier(
    naive: datetime, spec: str
) -> None:
    """Across DST changes too: whatever the hour, the answer is a time the window
    allows, not before now, and within a day."""
    now = naive.replace(tzinfo=NY)
    window = SendWindow.parse(spec)
    opens = window.next_open(now)
    assert opens >= now
    assert window.allows(opens)
    assert (opens - now).total_seconds() <= 25 * 3600


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"[" * 20000 + b"]" * 20000, "nested too deeply"),
        (b'{"to": "+14155552671", "message": "a\\ud800b"}', "surrogate"),
        (b'{"to": "+14155552671", "idempotency_key": "\\udfff"}', "surrogate"),
        (b'{"to": "+14155552671", "slots": {"n": NaN}}', "NaN is not a JSON value"),
        (b'{"to": "+14155552671", "slots": {"n": -Infinity}}', "not a JSON value"),
    ],
)
def test_bodies_that_are_not_plain_json_text_are_400s(raw: bytes, words: str) -> None:
    """Found by fuzzing the live server: these were a 500, or a 202 for a text
    the sender could not encode."""
    with pytest.raises(ApiError) as caught:
        parse_body(raw)
    assert (caught.value.status, caught.value.code) == (400, "invalid_json")
    assert words in caught.value.detail
