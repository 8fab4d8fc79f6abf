"""Counters on a real Redis: each event counted once, per business day, and the
report's totals, delivery rate and cost."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from analytics.counters import Counters
from analytics.report import AnalyticsReport
from analytics.settings import AnalyticsSettings, AnalyticsSettingsError
from connectors.status import handle_callback
from redisio import keys as redis_keys

NY = ZoneInfo("America/New_York")
LINE, OTHER_LINE = "+15017122661", "+15017122662"
ANN, BOB = "+14155552671", "+14155552672"


def at(text: str) -> float:
    """A moment in New York time, e.g. "2026-03-10 23:30"."""
    return datetime.fromisoformat(text).replace(tzinfo=NY).timestamp()


def settings(**changes: object) -> AnalyticsSettings:
    values: dict[str, object] = {
        "time_zone": NY,
        "price_inbound": 0.01,
        "price_outbound": 0.02,
        "retention_days": 30,
    }
    values.update(changes)
    return AnalyticsSettings(**values)  # type: ignore[arg-type]


async def test_days_are_the_business_days_and_totals_add_up(redis: Redis) -> None:
    counters = Counters(redis, NY, 30)
    # 23:30 in New York is the next day in UTC: it still counts for the 10th.
    await counters.add(
        LINE, {"inbound": 1, "segments_in": 2}, ANN, at("2026-03-10 23:30")
    )
    await counters.add(
        LINE, {"outbound": 2, "segments_out": 3}, ANN, at("2026-03-11 00:30")
    )
    await counters.add(
        LINE, {"inbound": 1, "segments_in": 1}, BOB, at("2026-03-11 09:00")
    )
    await counters.add(
        OTHER_LINE, {"inbound": 1, "segments_in": 1}, BOB, at("2026-03-11 10:00")
    )

    report = await AnalyticsReport(redis, settings()).summary(
        7, now=at("2026-03-11 12:00")
    )
    by_day = {row["date"]: row for row in report["daily"]}
    assert [row["date"] for row in report["daily"]][-2:] == ["2026-03-10", "2026-03-11"]
    assert by_day["2026-03-10"]["inbound"] == 1
    assert by_day["2026-03-11"]["inbound"] == 2
    assert by_day["2026-03-11"]["unique_numbers"] == 2
    assert report["totals"]["inbound"] == 3
    assert report["totals"]["outbound"] == 2
    assert report["totals"]["unique_numbers"] == 2  # Ann and Bob, across days and lines
    assert report["estimated_cost"] == {
        "currency": "USD",
        "inbound": 0.04,  # 4 segments at 0.01
        "outbound": 0.06,  # 3 segments at 0.02
        "total": 0.1,
        "price_per_segment": {"inbound": 0.01, "outbound": 0.02},
    }
    one_line = await AnalyticsReport(redis, settings()).summary(
        7, OTHER_LINE, now=at("2026-03-11 12:00")
    )
    assert one_line["totals"]["inbound"] == 1
    assert one_line["totals"]["unique_numbers"] == 1
    older = await AnalyticsReport(redis, settings()).summary(
        7, now=at("2026-03-20 12:00")
    )
    assert older["totals"]["inbound"] == 0  # out of the 7 days


async def test_a_days_counters_expire_after_the_retention(redis: Redis) -> None:
    await Counters(redis, NY, 30).add(LINE, {"inbound": 1}, ANN, at("2026-03-10 09:00"))
    for key in (
        redis_keys.stats_day(LINE, "2026-03-10"),
        redis_keys.stats_numbers(LINE, "2026-03-10"),
    ):
        assert 30 * 86400 < await redis.ttl(key) <= 31 * 86400


async def test_a_repeated_status_callback_is_counted_once(redis: Redis) -> None:
    counters = Counters(redis, NY, 30)

    def callback(sid: str, status: str, **extra: str) -> dict[str, str]:
        return {
            "MessageSid": sid,
            "MessageStatus": status,
            "To": ANN,
            "From": LINE,
            **extra,
        }

    for form in (
        callback("SM1", "sent"),
        callback("SM1", "delivered"),
        callback("SM1", "delivered"),  # Twilio repeats callbacks
        callback("SM2", "undelivered", ErrorCode="30003"),
        callback("SM2", "undelivered", ErrorCode="30003"),
        callback("SM2", "delivered"),  # same rank, too late: the first final wins
        callback("SM3", "failed", ErrorCode="30007"),
        callback("SM4", "sent"),  # not final yet
    ):
        await handle_callback(redis, form, counters)
    report = await AnalyticsReport(redis, settings()).summary(7)
    totals = report["totals"]
    assert (totals["delivered"], totals["undelivered"], totals["failed"]) == (1, 1, 1)
    assert report["failed_by_code"] == {"30003": 1, "30007": 1}
    assert report["delivery_rate"] == pytest.approx(1 / 3, abs=1e-4)


async def test_no_outcome_yet_is_no_delivery_rate(redis: Redis) -> None:
    report = await AnalyticsReport(redis, settings()).summary(30)
    assert report["delivery_rate"] is None
    assert len(report["daily"]) == 30
    assert report["totals"]["inbound"] == 0


async def test_a_messaging_service_counts_as_its_line(redis: Redis) -> None:
    service = "MG" + "b" * 32
    await handle_callback(
        redis,
        {
            "MessageSid": "SM9",
            "MessageStatus": "delivered",
            "To": ANN,
            "From": LINE,
            "MessagingServiceSid": service,
        },
        Counters(redis, NY, 30),
    )
    report = await AnalyticsReport(redis, settings()).summary(7, service)
    assert report["totals"]["delivered"] == 1


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SMS_PRICE_OUTBOUND_SEGMENT": "cheap"}, "SMS_PRICE_OUTBOUND_SEGMENT"),
        ({"SMS_PRICE_INBOUND_SEGMENT": "-1"}, "SMS_PRICE_INBOUND_SEGMENT"),
        ({"SMS_PRICE_CURRENCY": "dollars"}, "SMS_PRICE_CURRENCY"),
        ({"SMS_ANALYTICS_RETENTION_DAYS": "1.5"}, "SMS_ANALYTICS_RETENTION_DAYS"),
        ({"SMS_TIME_ZONE": "Mars/Olympus"}, "SMS_TIME_ZONE"),
    ],
)
def test_a_bad_setting_names_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(AnalyticsSettingsError, match=named):
        AnalyticsSettings.from_env(env)


def test_settings_default_to_the_business_time_zone() -> None:
    from actions.business import business

    found = AnalyticsSettings.from_env({"SMS_PRICE_CURRENCY": "eur"})
    assert found.time_zone == business().timezone
    assert found.currency == "EUR"
