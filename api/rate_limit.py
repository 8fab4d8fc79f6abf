"""Per-key rate limit: a token bucket in Redis, so every worker draws on one bucket.

A bucket holds `burst` texts and refills at `rate_per_minute`; a request finding it
empty is told how long until the next token (Retry-After). One script does the
read, refill and take, so two workers cannot both take the last token.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from redis.asyncio import Redis

from redisio import keys as redis_keys
from redisio import scripts


class RateLimit:
    def __init__(
        self,
        redis: Redis,
        rate_per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.per_second = rate_per_minute / 60.0
        self.burst = max(1, burst)
        self.clock = clock

    async def take(self, key_name: str) -> float:
        """0 if the request may go now, else the seconds to wait (at least 1)."""
        taken, wait_ms = await scripts.RATE_TAKE(
            self.redis,
            keys=[redis_keys.api_bucket(key_name)],
            args=[self.burst, self.per_second, self.clock()],
        )
        if int(taken):
            return 0.0
        return float(max(1, math.ceil(int(wait_ms) / 1000)))
