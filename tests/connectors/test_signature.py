"""Signatures are checked the way Twilio computes them, on the public URL."""

from __future__ import annotations

import pytest
from sanic.compat import Header
from twilio.request_validator import RequestValidator

from connectors.signature import is_valid, signed_url

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
FIELDS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def form(fields: dict[str, str]) -> dict[str, list[str]]:
    return {k: [v] for k, v in fields.items()}


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        ("+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
    ],
)
def test_published_vectors_validate(number: str, expected: str) -> None:
    fields = dict(FIELDS, Caller=number, From=number)
    assert is_valid("12345", URL, form(fields), expected)


def test_a_changed_field_token_or_url_fails() -> None:
    good = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert not is_valid("12345", URL, form(dict(FIELDS, Digits="1235")), good)
    assert not is_valid("54321", URL, form(FIELDS), good)
    assert not is_valid("12345", URL.replace("foo=1", "foo=2"), form(FIELDS), good)
    assert not is_valid("12345", URL, form(FIELDS), None)
    assert not is_valid("12345", URL, form(FIELDS), "")


def test_empty_and_repeated_fields_are_signed_like_twilio() -> None:
    """An empty Body is signed; a repeated name contributes name+value per value."""
    fields = {"Body": [""], "MediaUrl": ["https://a/1", "https://a/2"], "To": ["+1"]}
    expected = RequestValidator("tok").compute_signature(
        "https://x.example/hook", _MultiDict(fields)
    )
    assert is_valid("tok", "https://x.example/hook", fields, expected)
    dropped = {"MediaUrl": ["https://a/1", "https://a/2"], "To": ["+1"]}
    only_first = {"Body": [""], "MediaUrl": ["https://a/1"], "To": ["+1"]}
    assert not is_valid("tok", "https://x.example/hook", dropped, expected)
    assert not is_valid("tok", "https://x.example/hook", only_first, expected)


class _MultiDict(dict):
    def getall(self, name: str) -> list[str]:
        return self[name]


def test_public_url_not_host_header_decides() -> None:
    url = signed_url(
        "https://bot.example.com",
        "/webhooks/twilio_sms/webhook",
        "",
        {"host": "10.0.0.5:5005", "x-forwarded-host": "evil.example"},
        trust_forwarded=False,
    )
    assert url == "https://bot.example.com/webhooks/twilio_sms/webhook"


def test_forwarded_headers_only_when_trusted() -> None:
    headers = {"x-forwarded-proto": "https", "x-forwarded-host": "edge.example.com"}
    url = signed_url(
        "http://127.0.0.1:5005", "/p", "a=1", headers, trust_forwarded=True
    )
    assert url == "https://edge.example.com/p?a=1"


def test_forwarded_host_is_the_value_the_trusted_proxy_added() -> None:
    """A client can send its own X-Forwarded-Host; the proxy appends the real one
    (to the same line, or as a line of its own): the last value counts."""
    appended = Header(
        [
            ("x-forwarded-proto", "http, https"),
            ("x-forwarded-host", "evil.example, bot.example.com"),
        ]
    )
    own_line = Header(
        [
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-host", "bot.example.com"),
        ]
    )
    for headers in (appended, own_line):
        url = signed_url("http://10.0.0.5:5005", "/h", "", headers, True)
        assert url == "https://bot.example.com/h"


def test_port_443_is_accepted_either_way() -> None:
    fields = {"Body": "hi", "From": "+14155552671"}
    sig = RequestValidator("tok").compute_signature("https://bot.example.com/h", fields)
    assert is_valid("tok", "https://bot.example.com:443/h", form(fields), sig)
