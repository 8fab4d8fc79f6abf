"""Analytics settings, from environment variables, checked at start-up.

| variable | default | what |
|---|---|---|
| `SMS_PRICE_INBOUND_SEGMENT` | 0.0079 | estimated price of one received segment |
| `SMS_PRICE_OUTBOUND_SEGMENT` | 0.0079 | estimated price of one sent segment |
| `SMS_PRICE_CURRENCY` | USD | the currency of both prices |
| `SMS_ANALYTICS_RETENTION_DAYS` | 400 | how long a day's counters are kept |
| `SMS_TIME_ZONE` | the business's (actions/business.yml) | where a day starts and ends |

The defaults are Twilio's US list price per segment at the time of writing; set
your own: the estimate is segments times price, computed when it is read, so a new
price applies to past days too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class AnalyticsSettingsError(ValueError):
    """A setting analytics cannot work with: the server does not start."""


@dataclass(frozen=True)
class AnalyticsSettings:
    time_zone: ZoneInfo = ZoneInfo("UTC")
    price_inbound: float = 0.0079
    price_outbound: float = 0.0079
    currency: str = "USD"
    retention_days: int = 400

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AnalyticsSettings:
        env = os.environ if environ is None else environ
        currency = (env.get("SMS_PRICE_CURRENCY") or "USD").strip().upper()
        if not (len(currency) == 3 and currency.isalpha()):
            raise AnalyticsSettingsError(
                f"SMS_PRICE_CURRENCY: expected a 3-letter code such as USD, got {currency!r}"
            )
        retention = _number(env, "SMS_ANALYTICS_RETENTION_DAYS", 400, low=1)
        if retention != int(retention) or retention > 3660:
            raise AnalyticsSettingsError(
                "SMS_ANALYTICS_RETENTION_DAYS: expected whole days, 1..3660"
            )
        return cls(
            time_zone=_zone(env.get("SMS_TIME_ZONE")),
            price_inbound=_number(env, "SMS_PRICE_INBOUND_SEGMENT", 0.0079),
            price_outbound=_number(env, "SMS_PRICE_OUTBOUND_SEGMENT", 0.0079),
            currency=currency,
            retention_days=int(retention),
        )


def _number(env: Mapping[str, str], name: str, default: float, low: float = 0) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise AnalyticsSettingsError(
            f"{name}: expected a number, got {raw!r}"
        ) from None
    if not (value >= low and value < float("inf")):
        raise AnalyticsSettingsError(f"{name}: expected at least {low}, got {raw!r}")
    return value


def _zone(raw: str | None) -> ZoneInfo:
    if not raw:
        from api.settings import business_time_zone

        return business_time_zone()
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise AnalyticsSettingsError(
            f"SMS_TIME_ZONE: unknown time zone {raw!r} (e.g. America/New_York)"
        ) from None
