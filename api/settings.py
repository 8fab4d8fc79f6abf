"""The business API's settings, from environment variables, checked at start-up.

| variable | default | what |
|---|---|---|
| `SMS_API_KEYS` | none (every /sms/ route answers 401) | `name:key,…` |
| `SMS_API_RATE_PER_MINUTE` | 60 | outbound texts per key per minute, refilled evenly |
| `SMS_API_BURST` | 20 | how many may go at once before the rate applies |
| `SMS_SEND_HOURS` | 08:00-21:00 | when the business may start a text |
| `SMS_TIME_ZONE` | the business's (actions/business.yml) | for the hours |
| `SMS_REMINDERS_ENABLED` | false | each server texts tomorrow's reminders itself |
| `SMS_REMINDERS_INTERVAL_SECONDS` | 300 | how often it looks for them |
| `SMS_API_IDEMPOTENCY_WAIT_SECONDS` | 30 | how long a repeated request waits for the first one's answer before a 409 `in_progress` |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.keys import ApiKeys, KeysError
from api.quiet_hours import SendWindow
from redisio.settings import to_bool


class ApiSettingsError(ValueError):
    """A setting the API cannot work with: the server does not start."""


@dataclass(frozen=True)
class ApiSettings:
    keys: ApiKeys
    rate_per_minute: float = 60.0
    burst: int = 20
    send_window: SendWindow = SendWindow.parse("08:00-21:00")
    time_zone: ZoneInfo = ZoneInfo("UTC")
    reminders_enabled: bool = False
    reminders_interval_seconds: float = 300.0
    #: How far ahead an appointment gets its reminder.
    reminder_horizon_hours: float = 24.0
    idempotency_wait_seconds: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        env = os.environ if environ is None else environ
        try:
            keys = ApiKeys.from_env(env)
        except KeysError as err:
            raise ApiSettingsError(str(err)) from err
        return cls(
            keys=keys,
            rate_per_minute=_number(env, "SMS_API_RATE_PER_MINUTE", 60.0),
            burst=int(_number(env, "SMS_API_BURST", 20)),
            send_window=_window(env.get("SMS_SEND_HOURS") or "08:00-21:00"),
            time_zone=_zone(env.get("SMS_TIME_ZONE")),
            reminders_enabled=_bool(env, "SMS_REMINDERS_ENABLED"),
            reminders_interval_seconds=_number(
                env, "SMS_REMINDERS_INTERVAL_SECONDS", 300.0
            ),
            idempotency_wait_seconds=_number(
                env, "SMS_API_IDEMPOTENCY_WAIT_SECONDS", 30.0
            ),
        )


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ApiSettingsError(f"{name}: expected a number, got {raw!r}") from None
    if value <= 0:
        raise ApiSettingsError(f"{name}: must be above 0, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    try:
        return to_bool(name, env.get(name) or "false")
    except ValueError as err:
        raise ApiSettingsError(str(err)) from None


def _window(raw: str) -> SendWindow:
    try:
        return SendWindow.parse(raw)
    except ValueError as err:
        raise ApiSettingsError(f"SMS_SEND_HOURS: {err}") from None


def _zone(raw: str | None) -> ZoneInfo:
    if not raw:
        return business_time_zone()
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiSettingsError(
            f"SMS_TIME_ZONE: unknown time zone {raw!r} (e.g. America/New_York)"
        ) from None


def business_time_zone() -> ZoneInfo:
    """The time zone the assistant books in, so "8am" means the same to both."""
    from actions.business import business  # the bot's own settings, read lazily

    return business().timezone
