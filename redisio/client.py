"""One Redis client per process, event loop and server: the only place one is made.

The channel, the tracker store, the lock store and the contacts all talk to the same
server; they share one connection pool instead of opening four. An asyncio client
is bound to the loop of its first command, and Rasa builds its stores before (and
sometimes outside) the loop that uses them, so a client is made inside the loop that
asks for it, on first use. Keyed weakly by the loop: a closed loop (each pytest test
has one) takes its clients with it. Never the blocking `redis.Redis` in a server: it
would stall every other turn.

With `REDIS_CLUSTER=true` (redisio/settings.py) the client is redis-py's
`redis.asyncio.cluster.RedisCluster`, typed here as `Redis`: the project uses only
commands both offer. It has no MULTI/EXEC and no pub/sub, so every multi-key
atomic step is a Lua script on one hash slot (redisio/scripts.py, redisio/atomic.py)
and pub/sub goes through `subscriber()`.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import replace
from typing import cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from redisio.cluster import Cluster
from redisio.settings import RedisSettings

_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[RedisSettings, Redis]
] = weakref.WeakKeyDictionary()


def client(settings: RedisSettings | None = None) -> Redis:
    """The running loop's client for `settings` (default: `default_url()`).

    Strings in, strings out (`decode_responses`): callers never see bytes.
    """
    settings = settings or RedisSettings.from_url()
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    found = per_loop.get(settings)
    if found is None:
        found = per_loop[settings] = separate(settings)
    return found


def separate(settings: RedisSettings) -> Redis:
    """A client with a pool of its own, not shared: for a test that plays two
    replicas in one process. The caller closes it."""
    if settings.cluster:
        # No retries of a command that failed or timed out (redis-py's cluster
        # client retries 3 times by default; its single-server client does not):
        # a timed-out write may have happened, and the sender's at-most-once
        # claims (connectors/part_claims.py) must see that, not a second write.
        # MOVED/ASK redirections are followed all the same.
        return cast(
            Redis,
            Cluster(
                **settings.client_kwargs(),
                cluster_error_retry_attempts=0,
                connection_error_retry_attempts=0,
            ),
        )
    # The health check's PING is retried once on a new connection (redis-py retries
    # only what `retry_on_error` lists for commands: nothing here, so a command that
    # failed or timed out is never sent twice; the sender's claims rely on that).
    return Redis(
        **settings.client_kwargs(), retry=Retry(NoBackoff(), 1), retry_on_error=[]
    )


def subscriber(settings: RedisSettings) -> Redis:
    """The running loop's client for SUBSCRIBE (closed by `close_all`).

    redis-py 4.6's asyncio cluster client has no pub/sub. A cluster's nodes pass
    every PUBLISH on to each other, so a plain client of the configured node hears
    all of them; should that node fail, the subscriber reconnects to it (lock
    waiters meanwhile re-check on their own, stores/lock_store.py).
    """
    return client(replace(settings, cluster=False))


async def close_all() -> None:
    """Close the running loop's clients (asyncio clients have no async destructor).

    Called once, by whoever owns the process's shutdown (the channel, a tool's
    main); the stores never close a client another part may still use.
    """
    per_loop = _clients.pop(asyncio.get_running_loop(), {})
    for found in per_loop.values():
        await close(found)


async def close(found: Redis) -> None:
    """Close one client and its connections, single server or cluster."""
    if isinstance(found, RedisCluster):
        await found.close()
    else:
        await found.close(close_connection_pool=True)


class Connection:
    """A client that follows the running loop: for objects built before the loop.

    Rasa constructs the tracker and lock stores synchronously at start-up; each
    keeps a `Connection` and asks it for the client inside every coroutine.
    """

    def __init__(self, settings: RedisSettings) -> None:
        self.settings = settings

    def get(self) -> Redis:
        return client(self.settings)

    def subscriber(self) -> Redis:
        """For `.pubsub()`: the cluster client has none (see `subscriber`)."""
        return subscriber(self.settings)


def socket_timeout(found: Redis) -> float | None:
    """The client's socket timeout, single server or cluster."""
    if isinstance(found, RedisCluster):
        kwargs = found.get_connection_kwargs()
    else:
        kwargs = found.connection_pool.connection_kwargs
    return kwargs.get("socket_timeout")
