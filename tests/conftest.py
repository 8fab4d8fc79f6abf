"""Shared fixtures: a real Redis per test session, flushed between tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

import redisio
from redisio import RedisSettings
from tools.harness.redis_server import RedisServer

#: Whole modules that start Rasa servers or the make-run stack (a trained model).
E2E_PATHS = ("tests/e2e/", "tests/stores/test_lock_race.py")
#: In-process tests too long for the inner loop; make test runs them.
SLOW_TESTS = ("test_a_thousand_conversations_leave_no_key_without_a_bound",)


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
    server = RedisServer()
    yield server
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
