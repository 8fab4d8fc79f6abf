"""The process's Redis client after a Redis restart, on a real server."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

import redisio
from redisio.settings import HEALTH_CHECK_INTERVAL, RedisSettings
from tools.harness.redis_server import RedisServer


async def test_the_first_command_after_a_restart_goes_out_on_a_new_connection(
    tmp_path,
) -> None:
    """A pooled connection to the old process is dead; without the ping and its
    retry, the first command of every such connection failed (an action server's
    turn then ended in "Sorry, something went wrong")."""
    server = RedisServer(parent=tmp_path)
    client = redisio.separate(RedisSettings.from_url(server.url))
    try:
        await client.set("k", "v")
        server.pause()
        server.resume()
        await asyncio.sleep(HEALTH_CHECK_INTERVAL + 0.2)
        assert await client.set("k", "w") is True
        assert await client.get("k") == "w"
    finally:
        await redisio.close(client)
        server.stop()


async def test_a_command_during_an_outage_still_fails(tmp_path) -> None:
    """Nothing is retried into an outage: the caller sees it and decides."""
    server = RedisServer(parent=tmp_path)
    client = redisio.separate(RedisSettings.from_url(server.url))
    try:
        await client.set("k", "v")
        server.pause()
        await asyncio.sleep(HEALTH_CHECK_INTERVAL + 0.2)
        with pytest.raises(RedisConnectionError):
            await client.get("k")
    finally:
        server.resume()
        await redisio.close(client)
        server.stop()
