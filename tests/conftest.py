"""Shared fixtures: a real Redis per test session, flushed between tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

import redisio
from redisio import RedisSettings
from tests.redis_server import RedisServer


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
