"""Twilio's inbound webhook form fields, checked once, as an `InboundSms`.

The webhook answers a malformed request with 400 and a reason before anything
is stored, so everything after it (dedupe, opt-out, the inbox, the worker) can
trust the fields: a MessageSid to dedupe on, E.164 numbers to key conversations
on, a consistent media list. Reasons are one line and echo at most a short,
escaped slice of a bad value: they end up in responses and logs. Twilio adds
fields without notice, so unknown fields are ignored. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

MAX_BODY = 1600
MAX_MEDIA = 10

_MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}")
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
_COUNT = re.compile(r"[0-9]{1,6}")
_MEDIA_FIELD = re.compile(r"(MediaUrl|MediaContentType)([0-9]+)")
_CONTENT_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+(?:\s*;.*)?", re.ASCII)
_SHOWN = 40


@dataclass(frozen=True)
class Media:
    """One attachment; fetching it needs the account's Basic auth."""

    url: str
    content_type: str


@dataclass(frozen=True)
class InboundSms:
    """One inbound message, validated: the customer is `from_number`."""

    message_sid: str
    account_sid: str  # "" when Twilio did not send it
    from_number: str
    to_number: str
    body: str
    num_segments: int
    media: tuple[Media, ...]
    messaging_service_sid: str | None

    def metadata(self) -> dict[str, Any]:
        """`UserMessage.metadata`: which business number was texted, and the SID.

        Plain JSON types only, since it is stored in the tracker.
        """
        data: dict[str, Any] = {
            "channel_type": "sms",
            "to": self.to_number,
            "from": self.from_number,
            "message_sid": self.message_sid,
            "num_segments": self.num_segments,
            "media": [
                {"url": m.url, "content_type": m.content_type} for m in self.media
            ],
        }
        if self.messaging_service_sid:
            data["messaging_service_sid"] = self.messaging_service_sid
        return data


class InvalidInbound(ValueError):
    """A webhook request that is not a well-formed Twilio inbound message.

    `reason` is one line, safe to return in a 400 and to log.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _show(value: str) -> str:
    """A bad value, quoted and escaped onto one line, cut to a few characters."""
    if len(value) > _SHOWN:
        return f"{value[:_SHOWN]!r}... ({len(value)} chars)"
    return repr(value)


def _field(form: Mapping[str, str], name: str, required: bool = False) -> str | None:
    value = form.get(name)
    if value is None:
        if required:
            raise InvalidInbound(f"{name} is missing")
        return None
    if not isinstance(value, str):
        raise InvalidInbound(f"{name} is not text")
    return value


def _sid(
    form: Mapping[str, str], name: str, pattern: re.Pattern[str], shape: str
) -> str:
    value = _field(form, name, required=True) or ""
    if not pattern.fullmatch(value):
        raise InvalidInbound(f"{name} is not {shape}: {_show(value)}")
    return value


def canonical_e164(value: str) -> str | None:
    """`value` if it is a possible number in canonical E.164 form, else None.

    "+1 (617) 555-1212" and "+16175551212" must not become two conversations,
    and Twilio always sends the canonical form, so anything else is rejected.
    "Possible" (right length for its country), not "valid": phonenumbers' numbering
    plans lag behind new ranges, and a real customer must never get a 400.
    """
    if not value.startswith("+") or len(value) > 16:
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    canonical = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if canonical != value or not phonenumbers.is_possible_number(number):
        return None
    return value


def _e164(form: Mapping[str, str], name: str) -> str:
    """A valid number in canonical E.164 form, the customer's identity."""
    value = _field(form, name, required=True) or ""
    if canonical_e164(value) is None:
        raise InvalidInbound(f"{name} is not an E.164 phone number: {_show(value)}")
    return value


def _count(
    form: Mapping[str, str], name: str, default: int, low: int, high: int
) -> int:
    value = _field(form, name)
    if value is None:
        return default
    if not _COUNT.fullmatch(value) or not low <= int(value) <= high:
        raise InvalidInbound(f"{name} must be an integer {low}..{high}: {_show(value)}")
    return int(value)


def _is_http_url(url: str) -> bool:
    """An absolute http(s) URL with a host: the worker fetches it later."""
    if not url.isascii() or not url.isprintable() or " " in url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" IPv6 host
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _media(form: Mapping[str, str], count: int) -> tuple[Media, ...]:
    """MediaUrlN/MediaContentTypeN for N < NumMedia, and no others."""
    for name in form:
        match = _MEDIA_FIELD.fullmatch(name)
        if match and int(match[2]) >= count:
            raise InvalidInbound(f"{name} present but NumMedia is {count}")
    media = []
    for n in range(count):
        url = _field(form, f"MediaUrl{n}", required=True) or ""
        if not _is_http_url(url):
            raise InvalidInbound(f"MediaUrl{n} is not an http(s) URL: {_show(url)}")
        kind = _field(form, f"MediaContentType{n}", required=True) or ""
        if not _CONTENT_TYPE.fullmatch(kind):
            raise InvalidInbound(
                f"MediaContentType{n} is not a content type: {_show(kind)}"
            )
        media.append(Media(url=url, content_type=kind))
    return tuple(media)


def parse_inbound(form: Mapping[str, str]) -> InboundSms:
    """The webhook's form fields (name -> first value) as an `InboundSms`.

    The Body is kept verbatim (a customer's leading spaces or blank lines are
    theirs) except that "\\r\\n" becomes "\\n". Its length is checked as Twilio
    sent it.

    Raises:
        InvalidInbound: naming the first field that is missing or malformed.
    """
    message_sid = _sid(form, "MessageSid", _MESSAGE_SID, "an SM/MM message SID")
    account_sid = ""
    if "AccountSid" in form:
        account_sid = _sid(form, "AccountSid", _ACCOUNT_SID, "an AC account SID")
    service_sid = None
    if form.get("MessagingServiceSid"):
        service_sid = _sid(
            form, "MessagingServiceSid", _SERVICE_SID, "an MG messaging service SID"
        )
    from_number = _e164(form, "From")
    to_number = _e164(form, "To")
    body = _field(form, "Body") or ""
    if len(body) > MAX_BODY:
        raise InvalidInbound(f"Body is {len(body)} characters, more than {MAX_BODY}")
    num_segments = _count(form, "NumSegments", 1, 1, 999_999)
    media = _media(form, _count(form, "NumMedia", 0, 0, MAX_MEDIA))
    return InboundSms(
        message_sid=message_sid,
        account_sid=account_sid,
        from_number=from_number,
        to_number=to_number,
        body=body.replace("\r\n", "\n"),
        num_segments=num_segments,
        media=media,
        messaging_service_sid=service_sid,
    )
