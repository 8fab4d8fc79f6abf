"""What the emulated account owns: its incoming numbers and Messaging Services.

On Twilio these are set in the console; here they come from the start-up settings
(`--numbers`, `--sms-incapable`, `--number-sms-url`, `--messaging-service-sid` ...)
and tests change them through `POST /_emulator/numbers` and `/_emulator/services`.
They are what the read-only REST routes (`account_api`) show, so a settings check
such as `tools.check_credentials` can be tested. Inbound texts still go to
`webhook_url`, whatever a number's `sms_url` says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import phonenumbers

from tools.emulator.config import SERVICE_SID_RE, ConfigError, EmulatorConfig
from tools.emulator.resources import API_VERSION, is_e164, rfc2822, utc_now

SMS_METHODS = ("POST", "GET")


def stable_sid(prefix: str, *parts: str) -> str:
    """A SID that stays the same for the same number across restarts of the emulator."""
    return prefix + hashlib.sha256(":".join(parts).encode()).hexdigest()[:32]


def iso8601(moment: datetime) -> str:
    """The v1 APIs' dates (`2015-07-30T20:12:31Z`); the 2010 API uses RFC 2822."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class IncomingNumber:
    """One number the account owns; replaced, never mutated."""

    sid: str
    phone_number: str
    date_created: datetime
    sms: bool = True
    mms: bool = True
    voice: bool = True
    sms_url: str | None = None
    sms_method: str = "POST"

    @property
    def capability_names(self) -> list[str]:
        """As a Messaging Service's sender pool lists them."""
        flags = (("SMS", self.sms), ("MMS", self.mms), ("Voice", self.voice))
        return [name for name, on in flags if on]


@dataclass(frozen=True)
class MessagingService:
    """A Messaging Service and the numbers in its sender pool."""

    sid: str
    friendly_name: str
    date_created: datetime
    inbound_request_url: str | None = None
    use_inbound_webhook_on_number: bool = False
    numbers: tuple[str, ...] = ()


class Inventory:
    """The account's numbers (by phone number) and services (by SID)."""

    def __init__(self, account_sid: str) -> None:
        self.account_sid = account_sid
        self.created = utc_now()
        self.numbers: dict[str, IncomingNumber] = {}
        self.services: dict[str, MessagingService] = {}

    @classmethod
    def from_config(cls, config: EmulatorConfig) -> Inventory:
        inventory = cls(config.account_sid)
        now = utc_now()
        for number in config.numbers:
            inventory.numbers[number] = IncomingNumber(
                sid=stable_sid("PN", config.account_sid, number),
                phone_number=number,
                date_created=now,
                sms=number not in config.sms_incapable,
                sms_url=config.number_sms_url,
            )
        if config.messaging_service_sid:
            sid = config.messaging_service_sid
            inventory.services[sid] = MessagingService(
                sid=sid,
                friendly_name="Emulated Messaging Service",
                date_created=now,
                inbound_request_url=config.service_inbound_url,
                use_inbound_webhook_on_number=config.service_uses_number_webhooks,
                numbers=config.numbers,
            )
        return inventory

    def number_by_sid(self, sid: str) -> IncomingNumber | None:
        return next((n for n in self.numbers.values() if n.sid == sid), None)

    def matching(self, pattern: str | None, friendly_name: str | None) -> list[str]:
        """Phone numbers the list's `PhoneNumber` filter selects: a part of the
        number, `*` standing for any one digit, as Twilio reads it."""
        found = []
        for number in sorted(self.numbers):
            if friendly_name is not None and friendly_name != friendly(number):
                continue
            if pattern is None or _contains(number, pattern):
                found.append(number)
        return found

    def update_number(self, payload: Mapping[str, Any]) -> IncomingNumber:
        """`POST /_emulator/numbers`: change a number, or buy it if the account has
        none such. Everything is checked before anything changes."""
        changes = dict(payload)
        number = changes.pop("phone_number", None)
        if not isinstance(number, str) or not is_e164(number):
            raise ConfigError("'phone_number' must be an E.164 number")
        _known(changes, {"sms", "mms", "voice", "sms_url", "sms_method"})
        for key in ("sms", "mms", "voice"):
            if key in changes and not isinstance(changes[key], bool):
                raise ConfigError(f"'{key}' must be true or false")
        if "sms_url" in changes:
            _check_url("sms_url", changes["sms_url"])
        if changes.get("sms_method", "POST") not in SMS_METHODS:
            raise ConfigError(f"'sms_method' must be one of {SMS_METHODS}")
        current = self.numbers.get(number) or IncomingNumber(
            sid=stable_sid("PN", self.account_sid, number),
            phone_number=number,
            date_created=utc_now(),
        )
        self.numbers[number] = updated = replace(current, **changes)
        return updated

    def update_service(self, payload: Mapping[str, Any]) -> MessagingService:
        """`POST /_emulator/services`: change a service, or create it."""
        changes = dict(payload)
        sid = changes.pop("sid", None)
        if not isinstance(sid, str) or not SERVICE_SID_RE.match(sid):
            raise ConfigError(f"'sid' must match {SERVICE_SID_RE.pattern}")
        _known(
            changes,
            {
                "friendly_name",
                "inbound_request_url",
                "use_inbound_webhook_on_number",
                "numbers",
            },
        )
        if "inbound_request_url" in changes:
            _check_url("inbound_request_url", changes["inbound_request_url"])
        if not isinstance(changes.get("use_inbound_webhook_on_number", False), bool):
            raise ConfigError("'use_inbound_webhook_on_number' must be true or false")
        if not isinstance(changes.get("friendly_name", ""), str):
            raise ConfigError("'friendly_name' must be a string")
        if "numbers" in changes:
            changes["numbers"] = self._owned(changes["numbers"])
        current = self.services.get(sid) or MessagingService(
            sid=sid, friendly_name="Emulated Messaging Service", date_created=utc_now()
        )
        self.services[sid] = updated = replace(current, **changes)
        return updated

    def _owned(self, numbers: Any) -> tuple[str, ...]:
        """A sender pool holds only numbers of the same account."""
        if not isinstance(numbers, list) or not all(
            isinstance(n, str) for n in numbers
        ):
            raise ConfigError("'numbers' must be a list of phone numbers")
        if stray := [n for n in numbers if n not in self.numbers]:
            raise ConfigError(f"numbers {stray} are not in this account")
        return tuple(dict.fromkeys(numbers))


def _known(changes: Mapping[str, Any], allowed: Iterable[str]) -> None:
    if unknown := sorted(set(changes) - set(allowed)):
        raise ConfigError(f"unknown fields {unknown}")


def _check_url(key: str, value: Any) -> None:
    if value is not None and not (
        isinstance(value, str) and value.startswith(("http://", "https://"))
    ):
        raise ConfigError(f"'{key}' must be an http(s) URL or null")


def _contains(number: str, pattern: str) -> bool:
    """Does `pattern` (digits, `+`, `*` for any digit) occur anywhere in `number`?"""
    width = len(pattern)
    return any(
        all(
            p == c or (p == "*" and c.isdigit())
            for p, c in zip(pattern, number[i : i + width], strict=True)
        )
        for i in range(len(number) - width + 1)
    )


def country(number: str) -> str | None:
    """ISO country of a number, as the sender pool shows it."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None


def friendly(number: str) -> str:
    """Twilio's friendly name of a North American number, `(501) 712-2661`."""
    digits = number.removeprefix("+1")
    if number.startswith("+1") and len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number


# --- the REST resources --------------------------------------------------------------


def account_resource(account_sid: str, auth_token: str, created: datetime) -> Any:
    """`GET /2010-04-01/Accounts/{sid}.json`; Twilio includes the auth token."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}"
    return {
        "auth_token": auth_token,
        "date_created": rfc2822(created),
        "date_updated": rfc2822(created),
        "friendly_name": "Emulated account",
        "owner_account_sid": account_sid,
        "sid": account_sid,
        "status": "active",
        "subresource_uris": {
            "incoming_phone_numbers": f"{uri}/IncomingPhoneNumbers.json",
            "messages": f"{uri}/Messages.json",
        },
        "type": "Full",
        "uri": f"{uri}.json",
    }


def incoming_number_resource(account_sid: str, number: IncomingNumber) -> Any:
    """One IncomingPhoneNumber as the 2010 API shows it (empty URLs are "")."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers/{number.sid}"
    return {
        "account_sid": account_sid,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": API_VERSION,
        "beta": False,
        "bundle_sid": None,
        "capabilities": {
            "fax": False,
            "mms": number.mms,
            "sms": number.sms,
            "voice": number.voice,
        },
        "date_created": rfc2822(number.date_created),
        "date_updated": rfc2822(number.date_created),
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "emergency_status": "Inactive",
        "friendly_name": friendly(number.phone_number),
        "identity_sid": None,
        "origin": "twilio",
        "phone_number": number.phone_number,
        "sid": number.sid,
        "sms_application_sid": "",
        "sms_fallback_method": "POST",
        "sms_fallback_url": "",
        "sms_method": number.sms_method,
        "sms_url": number.sms_url or "",
        "status": "in-use",
        "status_callback": "",
        "status_callback_method": "POST",
        "subresource_uris": {"assigned_add_ons": f"{uri}/AssignedAddOns.json"},
        "trunk_sid": None,
        "uri": f"{uri}.json",
        "voice_application_sid": "",
        "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST",
        "voice_fallback_url": "",
        "voice_method": "POST",
        "voice_receive_mode": "voice",
        "voice_url": "",
    }


def service_resource(account_sid: str, service: MessagingService, base: str) -> Any:
    """A Messaging Service (v1); `base` is the messaging domain's URL."""
    url = f"{base}/v1/Services/{service.sid}"
    return {
        "account_sid": account_sid,
        "area_code_geomatch": True,
        "date_created": iso8601(service.date_created),
        "date_updated": iso8601(service.date_created),
        "fallback_method": "POST",
        "fallback_to_long_code": True,
        "fallback_url": None,
        "friendly_name": service.friendly_name,
        "inbound_method": "POST",
        "inbound_request_url": service.inbound_request_url,
        "links": {
            "phone_numbers": f"{url}/PhoneNumbers",
            "short_codes": f"{url}/ShortCodes",
            "alpha_senders": f"{url}/AlphaSenders",
        },
        "mms_converter": True,
        "scan_message_content": "inherit",
        "sid": service.sid,
        "smart_encoding": True,
        "status_callback": None,
        "sticky_sender": True,
        "synchronous_validation": True,
        "url": url,
        "us_app_to_person_registered": False,
        "use_inbound_webhook_on_number": service.use_inbound_webhook_on_number,
        "usecase": "undeclared",
        "validity_period": 14400,
    }


def service_number_resource(
    account_sid: str, service_sid: str, number: IncomingNumber, base: str
) -> Any:
    """A number in a service's sender pool: the number's PN SID, capability names."""
    return {
        "account_sid": account_sid,
        "capabilities": number.capability_names,
        "country_code": country(number.phone_number),
        "date_created": iso8601(number.date_created),
        "date_updated": iso8601(number.date_created),
        "phone_number": number.phone_number,
        "service_sid": service_sid,
        "sid": number.sid,
        "url": f"{base}/v1/Services/{service_sid}/PhoneNumbers/{number.sid}",
    }


def number_json(number: IncomingNumber) -> dict[str, Any]:
    """A number as `/_emulator/numbers` shows it: what tests set and look at."""
    return {
        "phone_number": number.phone_number,
        "sid": number.sid,
        "sms": number.sms,
        "mms": number.mms,
        "voice": number.voice,
        "sms_url": number.sms_url,
        "sms_method": number.sms_method,
    }


def service_json(service: MessagingService) -> dict[str, Any]:
    """A service as `/_emulator/services` shows it."""
    return {
        "sid": service.sid,
        "friendly_name": service.friendly_name,
        "inbound_request_url": service.inbound_request_url,
        "use_inbound_webhook_on_number": service.use_inbound_webhook_on_number,
        "numbers": list(service.numbers),
    }
