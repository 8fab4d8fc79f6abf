"""Twilio's wire shapes: SIDs, dates, error bodies, message resources, inbound forms.

Pure functions (the clock comes in as an argument) so the shapes can be checked alone.
"""

from __future__ import annotations

import re
import secrets
import xml.etree.ElementTree as ET  # noqa: S405 - parses TwiML from the local app under test
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

import phonenumbers

from tools.emulator.segments import count_segments

API_VERSION = "2010-04-01"
E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
SHORT_CODE_RE = re.compile(r"^\d{5,6}$")
ALPHANUMERIC_ID_RE = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")


def new_sid(prefix: str) -> str:
    """Two letters and 32 lowercase hex digits, as every Twilio SID."""
    return prefix + secrets.token_hex(16)


def utc_now() -> datetime:
    """The one clock read of the emulator, passed into the pure functions."""
    return datetime.now(timezone.utc)


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's REST dates: `Thu, 30 Jul 2015 20:12:31 +0000`."""
    return None if moment is None else format_datetime(moment.astimezone(timezone.utc))


def raw_dlr_done_date(moment: datetime) -> str:
    """The carrier's delivery-receipt time, `YYMMDDhhmm`, as Twilio forwards it."""
    return moment.astimezone(timezone.utc).strftime("%y%m%d%H%M")


def twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    """The error body twilio-python reads `code` and `message` from."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def is_e164(number: str) -> bool:
    """E.164 shape and a possible length for its country (fictional 555 numbers pass,
    which the project's tests rely on)."""
    if not E164_RE.match(number):
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return False


def is_valid_sender(sender: str) -> bool:
    """A `From` Twilio accepts in shape: E.164, short code or alphanumeric ID."""
    return (
        is_e164(sender)
        or bool(SHORT_CODE_RE.match(sender))
        or bool(ALPHANUMERIC_ID_RE.match(sender))
    )


@dataclass(frozen=True)
class StoredMessage:
    """One outbound message as the emulator keeps it; replaced, never mutated."""

    index: int
    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    media_urls: tuple[str, ...]
    status: str
    status_callback: str | None
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None

    @property
    def num_segments(self) -> int:
        return count_segments(self.body)


def message_resource(msg: StoredMessage) -> dict[str, Any]:
    """The Message resource JSON of `POST/GET …/Messages[/{sid}].json`."""
    uri = f"/{API_VERSION}/Accounts/{msg.account_sid}/Messages/{msg.sid}"
    return {
        "account_sid": msg.account_sid,
        "api_version": API_VERSION,
        "body": msg.body,
        "date_created": rfc2822(msg.date_created),
        "date_sent": rfc2822(msg.date_sent),
        "date_updated": rfc2822(msg.date_updated),
        "direction": "outbound-api",
        "error_code": msg.error_code,
        "error_message": msg.error_message,
        "from": msg.from_,
        "messaging_service_sid": msg.messaging_service_sid,
        "num_media": str(len(msg.media_urls)),
        "num_segments": str(msg.num_segments),
        "price": None,
        "price_unit": "USD",
        "sid": msg.sid,
        "status": msg.status,
        "subresource_uris": {
            "media": f"{uri}/Media.json",
            "feedback": f"{uri}/Feedback.json",
        },
        "to": msg.to,
        "uri": f"{uri}.json",
    }


def log_entry(msg: StoredMessage) -> dict[str, Any]:
    """One row of `GET /_emulator/messages`: what a test or the phone needs."""
    return {
        "index": msg.index,
        "sid": msg.sid,
        "to": msg.to,
        "from": msg.from_,
        "messaging_service_sid": msg.messaging_service_sid,
        "body": msg.body,
        "num_segments": msg.num_segments,
        "status": msg.status,
        "created_at": msg.date_created.isoformat(),
    }


def status_callback_form(msg: StoredMessage, moment: datetime) -> dict[str, str]:
    """The status callback fields Twilio posts for the message's current status."""
    form = {
        "MessageSid": msg.sid,
        "SmsSid": msg.sid,
        "MessageStatus": msg.status,
        "SmsStatus": msg.status,
        "AccountSid": msg.account_sid,
        "From": msg.from_ or "",
        "To": msg.to,
        "ApiVersion": API_VERSION,
    }
    if msg.messaging_service_sid:
        form["MessagingServiceSid"] = msg.messaging_service_sid
    if msg.error_code is not None:
        form["ErrorCode"] = str(msg.error_code)
    if msg.status in ("delivered", "undelivered"):
        form["RawDlrDoneDate"] = raw_dlr_done_date(moment)
    return form


@dataclass(frozen=True)
class InboundMedia:
    url: str
    content_type: str = "image/jpeg"


def geo_fields(number: str, prefix: str) -> dict[str, str]:
    """Twilio's best-effort `{From,To}{City,State,Zip,Country}`. Only the country is
    derived (phonenumbers' geocoder takes seconds to import); the rest stays empty,
    as Twilio sends it for numbers it cannot place."""
    country = ""
    try:
        parsed = phonenumbers.parse(number)
        country = phonenumbers.region_code_for_number(parsed) or next(
            iter(phonenumbers.region_codes_for_country_code(parsed.country_code)), ""
        )
    except phonenumbers.NumberParseException:
        pass
    return {
        f"{prefix}City": "",
        f"{prefix}State": "",
        f"{prefix}Zip": "",
        f"{prefix}Country": country,
    }


def inbound_form(
    *,
    message_sid: str,
    account_sid: str,
    messaging_service_sid: str | None,
    from_: str,
    to: str,
    body: str,
    media: tuple[InboundMedia, ...] = (),
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Every field Twilio's incoming-message webhook carries (see twilio-facts.md)."""
    form = {
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "SmsMessageSid": message_sid,
        "AccountSid": account_sid,
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": str(len(media)),
        "NumSegments": str(count_segments(body)),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
        **geo_fields(from_, "From"),
        **geo_fields(to, "To"),
    }
    if messaging_service_sid:
        form["MessagingServiceSid"] = messaging_service_sid
    for n, item in enumerate(media):
        form[f"MediaUrl{n}"] = item.url
        form[f"MediaContentType{n}"] = item.content_type
    form.update(extra or {})
    return form


def twiml_messages(text: str) -> list[str]:
    """Bodies of `<Message>` verbs in a webhook's TwiML answer; Twilio sends them."""
    if "<Message" not in text:
        return []
    root = ET.fromstring(text)  # noqa: S314 - the local app under test wrote it
    bodies: list[str] = []
    for verb in root.iter("Message"):
        nested = verb.find("Body")
        bodies.append((nested.text if nested is not None else verb.text) or "")
    return [body.strip() for body in bodies if body.strip()]
