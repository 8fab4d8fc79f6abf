"""Several commands as one atomic step that a Redis Cluster can run.

redis-py's cluster client has no MULTI/EXEC (`pipeline(transaction=True)` raises),
and a transaction across hash slots is refused by any cluster. So each atomic step
of the project is one Lua script, and `atomic()` is the script for the common case:
a short list of plain commands whose keys share one hash tag. Replies come back as
Lua hands them over: integers and strings, no parsing (an HGETALL is a flat list).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from redisio import scripts

#: One command: its name, its key, then its arguments.
Command = Sequence[Any]


async def atomic(client: Redis, *commands: Command) -> list[Any]:
    """Run `commands` in order, nothing else in between; each reply, in order.

    Every command's second word is its key; all keys must share one hash slot
    (ValueError otherwise, on a single server too).
    """
    keys = list(dict.fromkeys(str(command[1]) for command in commands))
    words: list[Any] = []
    for command in commands:
        words += [len(command), *command]
    return list(await scripts.ATOMIC(client, keys, words))


def pairs(mapping: dict[str, Any]) -> list[Any]:
    """`{field: value}` as HSET's words: field, value, field, value..."""
    return [word for item in mapping.items() for word in item]
