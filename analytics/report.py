"""Read the counters back: totals, a daily breakdown, delivery rate and cost."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from analytics.counters import CODE_PREFIX, FIELDS
from analytics.settings import AnalyticsSettings
from redisio import keys as redis_keys

#: The periods a report covers (the dashboard's 7/30/90-day selector).
PERIODS = (7, 30, 90)


def days_ending(today: date, count: int) -> list[str]:
    """`count` days up to and including `today`, oldest first (ISO dates)."""
    return [(today - timedelta(days=count - 1 - i)).isoformat() for i in range(count)]


def delivery_rate(totals: dict[str, int]) -> float | None:
    """delivered / (delivered + failed + undelivered); None before any outcome."""
    settled = totals["delivered"] + totals["failed"] + totals["undelivered"]
    return round(totals["delivered"] / settled, 4) if settled else None


class AnalyticsReport:
    def __init__(self, redis: Redis, settings: AnalyticsSettings) -> None:
        self.redis = redis
        self.settings = settings

    async def lines(self) -> list[str]:
        return sorted(await self.redis.smembers(redis_keys.STATS_LINES))

    async def summary(
        self,
        days: int,
        line: str | None = None,
        active_sessions: int = 0,
        now: float | None = None,
    ) -> dict[str, Any]:
        now = time.time() if now is None else now
        today = datetime.fromtimestamp(now, self.settings.time_zone).date()
        dates = days_ending(today, days)
        lines = [line] if line else await self.lines()
        daily: list[dict[str, Any]] = []
        totals = dict.fromkeys(FIELDS, 0)
        codes: dict[str, int] = {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for day in dates:
                for each in lines:
                    pipe.hgetall(redis_keys.stats_day(each, day))
                numbers = [redis_keys.stats_numbers(each, day) for each in lines]
                if numbers:
                    pipe.sunion(numbers)
            replies = await pipe.execute()
        everyone: set[str] = set()
        at = 0
        for day in dates:
            row: dict[str, Any] = {"date": day, **dict.fromkeys(FIELDS, 0)}
            for _ in lines:
                for field, value in replies[at].items():
                    if field.startswith(CODE_PREFIX):
                        code = field[len(CODE_PREFIX) :]
                        codes[code] = codes.get(code, 0) + int(value)
                    elif field in totals:
                        row[field] += int(value)
                at += 1
            if lines:
                numbers_that_day = set(replies[at])
                at += 1
                everyone |= numbers_that_day
                row["unique_numbers"] = len(numbers_that_day)
            else:
                row["unique_numbers"] = 0
            for field in FIELDS:
                totals[field] += row[field]
            daily.append(row)
        price_in = self.settings.price_inbound
        price_out = self.settings.price_outbound
        return {
            "days": days,
            "from": dates[0],
            "to": dates[-1],
            "time_zone": self.settings.time_zone.key,
            "number": line,
            "totals": {**totals, "unique_numbers": len(everyone)},
            "failed_by_code": dict(sorted(codes.items())),
            "delivery_rate": delivery_rate(totals),
            "active_sessions": active_sessions,
            "estimated_cost": {
                "currency": self.settings.currency,
                "inbound": round(totals["segments_in"] * price_in, 4),
                "outbound": round(totals["segments_out"] * price_out, 4),
                "total": round(
                    totals["segments_in"] * price_in
                    + totals["segments_out"] * price_out,
                    4,
                ),
                "price_per_segment": {"inbound": price_in, "outbound": price_out},
            },
            "daily": daily,
        }
