"""Pausing Redis from a test: the server, or every node of a cluster."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster


async def client_pause(redis: Redis, ms: int, mode: str = "ALL") -> None:
    """CLIENT PAUSE for `ms`: every client's commands (or writes) wait."""
    if isinstance(redis, RedisCluster):  # redis-py finds no key to route it by
        await redis.execute_command(
            "CLIENT PAUSE", str(ms), mode, target_nodes=RedisCluster.ALL_NODES
        )
    else:
        await redis.execute_command("CLIENT", "PAUSE", str(ms), mode)
