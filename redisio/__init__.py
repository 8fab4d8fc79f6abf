"""The project's one owner of Redis: where it is (settings), the client per process
and event loop (client), every key name (keys) and every Lua script (scripts, with
the sources under redisio/lua/). Nothing else makes a client, spells a key or holds
a script, so a change to any of them is made here once.
"""

from redisio.client import (
    Connection,
    client,
    close,
    close_all,
    separate,
    subscriber,
)
from redisio.settings import RedisSettings, default_url

__all__ = [
    "Connection",
    "RedisSettings",
    "client",
    "close",
    "close_all",
    "default_url",
    "separate",
    "subscriber",
]
