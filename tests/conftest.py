"""Shared fixtures: a real Redis per test session, flushed between tests.

With `REDIS_CLUSTER=true` (`make test-cluster`) the session's Redis is a 3-master
Redis Cluster on loopback ports, and every client redisio makes is a cluster client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

import redisio
from actions import config as business_config
from redisio import RedisSettings
from redisio.settings import cluster_default
from tools.business_folder import business_folder
from tools.harness.redis_cluster import RedisClusterServer
from tools.harness.redis_server import RedisServer

#: In-process tests are about the code (dates, slots, prices, replies), so they run
#: against this repository's own business file, their fixture, whatever BUSINESS
#: names; the servers tests start read the business under test (BUSINESS, e.g.
#: examples/salon: tools/harness/sms_stack.py), as do the bank and test stories.
business_config.BUSINESS_FILE = business_folder("").business_file

#: Whole modules that start Rasa servers or the make-run stack (a trained model).
E2E_PATHS = ("tests/e2e/", "tests/stores/test_lock_race.py")
#: In-process tests too long for the inner loop; make test runs them.
SLOW_TESTS = (
    "test_a_thousand_conversations_leave_no_key_without_a_bound",
    # Each waits out leases or refusals for 5-9 s of wall time.
    "test_a_turn_whose_lease_lapsed_in_a_long_pause_is_not_run_again",
    "test_redis_paused_during_a_slow_turn_on_two_replicas_runs_it_once",
    "test_a_reply_refused_past_the_retry_window_is_recorded_undeliverable",
    "test_replies_twilio_refuses_for_a_while_arrive_once_each_in_order",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by place, so `make test-fast` (-m "not e2e and not slow") needs no
    marker in each file and a new e2e module is never run by it by mistake."""
    for item in items:
        path = item.path.as_posix()
        if any(part in path for part in E2E_PATHS):
            item.add_marker(pytest.mark.e2e)
        if item.originalname in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One server, or under `REDIS_CLUSTER=true` a cluster that answers alike."""
    server = RedisClusterServer() if cluster_default() else RedisServer()
    yield server  # type: ignore[misc]
    server.stop()


@pytest_asyncio.fixture
async def redis(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Redis]:
    """An empty Redis: the process's own client for it (redisio), which the
    actions also use during this test."""
    from actions import config

    settings = RedisSettings.from_url(redis_server.url)
    monkeypatch.setattr(config, "REDIS", settings)
    client = redisio.client(settings)
    await client.flushdb()
    yield client
    await client.flushdb()
    await redisio.close_all()
