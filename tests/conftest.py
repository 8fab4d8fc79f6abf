"""Shared fixtures: a real Redis per test session, flushed between tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from tools.harness.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def redis(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Redis]:
    """An empty Redis, also the one the actions use during this test."""
    from actions import config, connections

    monkeypatch.setattr(config, "REDIS_URL", redis_server.url)
    connections._clients.clear()
    client = Redis.from_url(redis_server.url)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.close()
    for other in connections._clients.values():
        await other.close()
    connections._clients.clear()
