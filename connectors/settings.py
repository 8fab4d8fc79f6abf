"""The SMS channel's settings, read once from credentials.yml and checked there.

credentials.yml values arrive as strings (Rasa expands `${VAR}` on load), so every
value is converted here, once, and a bad one stops the server at start-up with the
key name and the expected form, instead of failing on the first customer's text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from connectors.keywords import HELP_WORDS, OPT_IN_WORDS, OPT_OUT_WORDS, Keywords
from redisio import RedisSettings, default_url
from redisio.settings import to_bool
from replytext.business_file import business_facts

DEFAULT_FAILURE = (
    "Sorry, something went wrong on our side. Please try again in a few minutes."
)
DEFAULT_HELP = (
    "This is our text assistant: ask a question or text BOOK to make an "
    "appointment. Reply STOP to unsubscribe."
)
DEFAULT_FALLBACK = (
    "Sorry, we can't answer texts right now. Please try again in a few minutes."
)
DEFAULT_CANCEL_HINT = (
    'To cancel an appointment, text "cancel my appointment": CANCEL on its own '
    "stops all texts from us."
)
DEFAULT_INACTIVITY_WARNING = (
    "Are you still there? Reply to keep this conversation open."
)
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


class SettingsError(ValueError):
    """A credentials.yml value the channel cannot work with."""


@dataclass(frozen=True)
class SmsSettings:
    account_sid: str
    auth_token: str = field(repr=False)
    public_url: str  # the base URL Twilio calls, e.g. https://bot.example.com
    numbers: tuple[str, ...] = ()
    messaging_service_sid: str | None = None
    api_base_url: str = "https://api.twilio.com"
    enabled: bool = True
    initiate_from_inbound: bool = True
    validate_signature: bool = True
    trust_forwarded_headers: bool = False
    max_message_length: int = 1600
    max_parts_per_turn: int = 3
    failure_message: str = DEFAULT_FAILURE
    help_message: str = DEFAULT_HELP
    #: The reply of the fallback route (Twilio's "Primary handler fails" URL).
    fallback_message: str = DEFAULT_FALLBACK
    redis_url: str = field(default_factory=default_url, repr=False)
    # How long a MessageSid is remembered: a signed webhook posted again within it
    # (Twilio's retry, or a captured request replayed) is a duplicate.
    dedupe_hours: int = 30 * 24
    owner_lease_seconds: float = 30.0
    reclaim_after_seconds: float = 30.0
    sweep_interval_seconds: float = 5.0
    worker_concurrency: int = 16
    send_attempts: int = 4
    # A reply Twilio did not take (20429s, no connection) is retried with backoff
    # (at most this far apart) for this long, then recorded as undeliverable;
    # the conversation's later texts wait behind it, in order.
    reply_retry_seconds: float = 600.0
    reply_retry_max_interval_seconds: float = 60.0
    # An inbox entry whose processing raised this often is dead-lettered, the
    # failure message sent, and the conversation moves on.
    max_entry_attempts: int = 3
    send_timeout_seconds: float = 10.0
    # Inactivity (PolyAI-style): warn an engaged session idle this long (0 = off),
    # close it if the customer does not reply within the grace period.
    inactivity_warning_after_seconds: float = 24 * 3600.0
    inactivity_grace_seconds: float = 600.0
    inactivity_warning_message: str = DEFAULT_INACTIVITY_WARNING
    inactivity_poll_seconds: float = 1.0
    # Contacts (stores/contacts.py): a known number's name greets the customer;
    # optionally every new number becomes a contact.
    contact_matching: bool = True
    auto_create_contacts: bool = False
    # Keywords (connectors/keywords.py): Twilio's defaults unless the Messaging
    # Service's Advanced Opt-Out changed them. After a bare CANCEL opted a customer
    # out, their START is answered with `cancel_hint_message`.
    opt_out_words: tuple[str, ...] = OPT_OUT_WORDS
    opt_in_words: tuple[str, ...] = OPT_IN_WORDS
    help_words: tuple[str, ...] = HELP_WORDS
    cancel_hint_message: str = DEFAULT_CANCEL_HINT

    @property
    def keywords(self) -> Keywords:
        return Keywords(self.opt_out_words, self.opt_in_words, self.help_words)

    @property
    def redis(self) -> RedisSettings:
        """`redis_url`, parsed (checked once at start-up by `from_credentials`)."""
        return RedisSettings.from_url(self.redis_url)

    @property
    def webhook_path(self) -> str:
        return "/webhooks/twilio_sms/webhook"

    @property
    def fallback_path(self) -> str:
        return "/webhooks/twilio_sms/fallback"

    @property
    def status_path(self) -> str:
        return "/webhooks/twilio_sms/status"

    @property
    def status_callback_url(self) -> str:
        return self.public_url + self.status_path

    def sender_for(self, business_number: str | None) -> str | None:
        """Reply from the number the customer texted, if it is one of ours."""
        if business_number in self.numbers:
            return business_number
        return self.numbers[0] if self.numbers else None

    @classmethod
    def from_credentials(cls, raw: Mapping[str, Any] | None) -> SmsSettings:
        raw = dict(raw or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise SettingsError(
                f"twilio_sms: unknown setting(s) {unknown}; known: {sorted(known)}"
            )
        values: dict[str, Any] = {}
        values["account_sid"] = _match(raw, "account_sid", _ACCOUNT_SID, "AC + 32 hex")
        values["auth_token"] = _text(raw, "auth_token", required=True)
        values["public_url"] = _url(raw, "public_url")
        values["api_base_url"] = _url(raw, "api_base_url", cls.api_base_url)
        values["numbers"] = _numbers(raw.get("numbers"))
        service = _text(raw, "messaging_service_sid") or None
        if service and not _SERVICE_SID.match(service):
            raise SettingsError(
                "twilio_sms.messaging_service_sid: expected MG + 32 hex"
            )
        values["messaging_service_sid"] = service
        if not values["numbers"] and not service:
            raise SettingsError(
                "twilio_sms: set `numbers` (E.164, comma separated) or "
                "`messaging_service_sid` so replies have a sender"
            )
        for key in (
            "enabled",
            "initiate_from_inbound",
            "validate_signature",
            "trust_forwarded_headers",
            "contact_matching",
            "auto_create_contacts",
        ):
            values[key] = _bool(raw, key, getattr(cls, key))
        values["max_message_length"] = _int(raw, "max_message_length", 1600, 50, 1600)
        values["max_parts_per_turn"] = _int(raw, "max_parts_per_turn", 3, 1, 10)
        values["dedupe_hours"] = _int(
            raw, "dedupe_hours", cls.dedupe_hours, 1, 24 * 366
        )
        values["worker_concurrency"] = _int(raw, "worker_concurrency", 16, 1, 1000)
        values["send_attempts"] = _int(raw, "send_attempts", 4, 1, 10)
        values["max_entry_attempts"] = _int(raw, "max_entry_attempts", 3, 1, 20)
        for key, low, high in (
            ("owner_lease_seconds", 0.5, 3600),
            ("reclaim_after_seconds", 0.1, 86400),
            ("sweep_interval_seconds", 0.1, 3600),
            ("send_timeout_seconds", 0.5, 120),
            ("inactivity_warning_after_seconds", 0, 30 * 86400),
            ("inactivity_grace_seconds", 0.1, 7 * 86400),
            ("inactivity_poll_seconds", 0.05, 60),
            ("reply_retry_seconds", 0, 86400),
            ("reply_retry_max_interval_seconds", 0.1, 3600),
        ):
            values[key] = _float(raw, key, getattr(cls, key), low, high)
        values["failure_message"] = _text(raw, "failure_message") or DEFAULT_FAILURE
        values["help_message"] = _with_business(
            "help_message", _text(raw, "help_message") or DEFAULT_HELP
        )
        values["fallback_message"] = _with_business(
            "fallback_message", _text(raw, "fallback_message") or DEFAULT_FALLBACK
        )
        values["inactivity_warning_message"] = (
            _text(raw, "inactivity_warning_message") or DEFAULT_INACTIVITY_WARNING
        )
        values["cancel_hint_message"] = (
            _text(raw, "cancel_hint_message") or DEFAULT_CANCEL_HINT
        )
        for key in ("opt_out_words", "opt_in_words", "help_words"):
            values[key] = _words(raw, key, getattr(cls, key))
        try:
            Keywords(
                values["opt_out_words"], values["opt_in_words"], values["help_words"]
            )
        except ValueError as error:
            raise SettingsError(f"twilio_sms keywords: {error}") from None
        values["redis_url"] = _text(raw, "redis_url") or default_url()
        try:
            RedisSettings.from_url(values["redis_url"])
        except ValueError as error:
            raise SettingsError(f"twilio_sms.redis_url: {error}") from None
        return cls(**values)


def _with_business(key: str, text: str) -> str:
    """`{name}` and `{phone}` in a reply setting are the business file's, so one
    credentials.yml serves any business (carriers want HELP to name it)."""
    if "{" not in text:
        return text
    try:
        facts = business_facts()
    except ValueError as error:
        raise SettingsError(f"twilio_sms.{key}: the business file: {error}") from None
    try:
        return text.format_map(facts)
    except (KeyError, ValueError, IndexError) as error:
        raise SettingsError(
            f"twilio_sms.{key}: only {{name}} and {{phone}} can be filled in, "
            f"got {error}"
        ) from None


def _text(raw: Mapping[str, Any], key: str, required: bool = False) -> str:
    value = raw.get(key)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise SettingsError(f"twilio_sms.{key} is required")
    return text


def _match(
    raw: Mapping[str, Any], key: str, pattern: re.Pattern[str], form: str
) -> str:
    text = _text(raw, key, required=True)
    if not pattern.match(text):
        raise SettingsError(f"twilio_sms.{key}: expected {form}")
    return text


def _url(raw: Mapping[str, Any], key: str, default: str | None = None) -> str:
    text = _text(raw, key, required=default is None) or str(default)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"twilio_sms.{key}: expected an http(s) URL, got {text!r}")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise SettingsError(
            f"twilio_sms.{key}: give the base URL only (scheme and host), got {text!r}"
        )
    return text.rstrip("/")


def _numbers(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else re.split(r"[,\s]+", str(value or ""))
    numbers = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        try:
            parsed = phonenumbers.parse(item, None)
        except phonenumbers.NumberParseException:
            parsed = None
        if (
            not item.startswith("+")
            or parsed is None
            or (not phonenumbers.is_possible_number(parsed))
        ):
            raise SettingsError(f"twilio_sms.numbers: {item!r} is not an E.164 number")
        numbers.append(
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        )
    return tuple(dict.fromkeys(numbers))


def _words(
    raw: Mapping[str, Any], key: str, default: tuple[str, ...]
) -> tuple[str, ...]:
    """A list, or one comma-separated string; matched case-insensitively."""
    value = raw.get(key)
    if value is None or value == "":
        return default
    items = value if isinstance(value, list) else str(value).split(",")
    words = tuple(
        dict.fromkeys(str(i).strip().upper() for i in items if str(i).strip())
    )
    if not words:
        raise SettingsError(f"twilio_sms.{key}: expected at least one word")
    return words


def _bool(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key)
    if value is None or value == "":
        return default
    try:
        return to_bool(f"twilio_sms.{key}", value)
    except ValueError as error:
        raise SettingsError(str(error)) from None


def _int(raw: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise SettingsError(f"twilio_sms.{key}: expected a whole number") from None
    if not low <= number <= high:
        raise SettingsError(f"twilio_sms.{key}: expected {low}..{high}, got {number}")
    return number


def _float(
    raw: Mapping[str, Any], key: str, default: float, low: float, high: float
) -> float:
    value = raw.get(key)
    if value is None or value == "":
        return default
    try:
        number = float(str(value).strip())
    except ValueError:
        raise SettingsError(f"twilio_sms.{key}: expected a number of seconds") from None
    if not low <= number <= high:
        raise SettingsError(f"twilio_sms.{key}: expected {low}..{high}, got {number}")
    return number
