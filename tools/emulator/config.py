"""Start-up settings of the Twilio emulator, and the parsing of its option strings."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from tools.emulator.resources import is_e164

# Fixed test credentials, used when neither an option nor TWILIO_* env vars give any.
DEFAULT_ACCOUNT_SID = "AC" + "e1" * 16
DEFAULT_AUTH_TOKEN = "0123456789abcdef" * 2
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:5005/webhooks/twilio_sms/webhook"
# A fictional sender the emulator uses for Messaging Service sends with no sticky sender.
DEFAULT_SERVICE_NUMBER = "+15550100000"
#: Default of a number's and a service's inbound URL: the URL inbound texts are
#: signed over (`signing_url`, else `webhook_url`), since on Twilio the number's
#: "A message comes in" URL is the one it calls and signs.
INBOUND_URL = "inbound"

ACCOUNT_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")
SERVICE_SID_RE = re.compile(r"^MG[0-9a-fA-F]{32}$")

# Codes the failure mix and the force queue understand; "20500" is an alias of "500".
FAILURE_CODES = ("20429", "500", "21610")
FORCE_CODES = ("ok", *FAILURE_CODES)


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and the expected form."""


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator needs at start; the mutable parts can be changed later
    through `POST /_emulator/config`."""

    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    webhook_url: str | None = DEFAULT_WEBHOOK_URL
    signing_url: str | None = None
    messaging_service_sid: str | None = None
    service_number: str = DEFAULT_SERVICE_NUMBER
    latency_ms: int = 0
    failures: Mapping[str, float] = field(default_factory=dict)
    status_delay_ms: int = 200
    seed: int | None = None
    ambiguous_500_sends: bool = True
    undeliverable: frozenset[str] = frozenset({"+15005550006"})
    opt_out_tracking: bool = True
    webhook_timeout_s: float = 15.0
    callback_timeout_s: float = 15.0
    # What the account owns, as its read-only REST routes show it (`inventory`):
    # incoming numbers (E.164), those of them that cannot send or receive SMS, and
    # the "A message comes in" URL of each (None: no webhook). With
    # `messaging_service_sid`, that service exists too and holds every number.
    numbers: tuple[str, ...] = ()
    sms_incapable: frozenset[str] = frozenset()
    number_sms_url: str | None = INBOUND_URL
    service_inbound_url: str | None = INBOUND_URL
    service_uses_number_webhooks: bool = False

    def __post_init__(self) -> None:
        if not ACCOUNT_SID_RE.match(self.account_sid):
            raise ConfigError(f"account_sid must match {ACCOUNT_SID_RE.pattern}")
        if not self.auth_token:
            raise ConfigError("auth_token must not be empty")
        sid = self.messaging_service_sid
        if sid is not None and not SERVICE_SID_RE.match(sid):
            raise ConfigError(
                f"messaging_service_sid must match {SERVICE_SID_RE.pattern}"
            )
        if self.latency_ms < 0 or self.status_delay_ms < 0:
            raise ConfigError("latency_ms and status_delay_ms must be >= 0")
        object.__setattr__(self, "failures", normalise_failures(self.failures))
        self._check_inventory()

    def _check_inventory(self) -> None:
        """Numbers in E.164, URLs http(s); the `INBOUND_URL` defaults resolved."""
        if bad := [n for n in self.numbers if not is_e164(n)]:
            raise ConfigError(f"numbers must be E.164, got {bad}")
        if stray := sorted(self.sms_incapable - set(self.numbers)):
            raise ConfigError(f"sms_incapable numbers {stray} are not in numbers")
        inbound = self.signing_url or self.webhook_url
        for key in ("number_sms_url", "service_inbound_url"):
            value = getattr(self, key)
            if value == INBOUND_URL:
                object.__setattr__(self, key, value := inbound)
            if value is not None and not value.startswith(("http://", "https://")):
                raise ConfigError(f"{key} must be an http(s) URL or None")
        object.__setattr__(self, "numbers", tuple(dict.fromkeys(self.numbers)))


def normalise_code(code: str) -> str:
    """Accept Twilio's 20500 for the emulator's 500 key; reject unknown codes."""
    code = str(code).strip().lower()
    code = "500" if code == "20500" else code
    if code not in FORCE_CODES:
        raise ConfigError(
            f"unknown failure code {code!r}; expected one of {FORCE_CODES}"
        )
    return code


def normalise_failures(failures: Mapping[str, float]) -> dict[str, float]:
    """Probabilities per code, each in [0, 1] and together at most 1 (one draw per
    create decides)."""
    result: dict[str, float] = {}
    for raw_code, raw_p in failures.items():
        code = normalise_code(raw_code)
        if code == "ok":
            raise ConfigError("'ok' is only valid in the force queue")
        try:
            p = float(raw_p)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"probability for {code} must be a number") from exc
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"probability for {code} must be within [0, 1]")
        result[code] = p
    if sum(result.values()) > 1.0 + 1e-9:
        raise ConfigError("failure probabilities add up to more than 1")
    return result


def parse_failures(spec: str) -> dict[str, float]:
    """`"20429=0.1,500=0.05"` -> `{"20429": 0.1, "500": 0.05}`."""
    pairs: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        code, sep, p = item.partition("=")
        if not sep:
            raise ConfigError(f"failure {item!r} must look like CODE=PROBABILITY")
        try:
            pairs[code.strip()] = float(p)
        except ValueError as exc:
            raise ConfigError(f"probability in {item!r} is not a number") from exc
    return normalise_failures(pairs)


def parse_numbers(spec: str) -> frozenset[str]:
    """`"+15005550006, +15550001111"` -> a set of numbers."""
    return frozenset(filter(None, (part.strip() for part in spec.split(","))))


def require_loopback(host: str) -> str:
    """The emulator has no real auth on its control routes: never expose it."""
    if host == "localhost":
        return host
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise ConfigError(f"host {host!r} is not a loopback address")
