"""The Redis Cluster client redisio makes with `REDIS_CLUSTER=true`: redis-py 4.6's
asyncio `RedisCluster` (pinned: Rasa 3.6 needs redis<5) with four gaps closed (the
fourth: a command or pipeline is sent once, never retried after a timeout).
Re-check both when redis-py is upgraded.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException

#: Subcommands whose first argument is their one key (redis-py passes the name
#: with its subcommand, "XGROUP CREATE", and the key as the first argument).
_KEY_FIRST = frozenset(
    {
        "XGROUP CREATE",
        "XGROUP CREATECONSUMER",
        "XGROUP DELCONSUMER",
        "XGROUP DESTROY",
        "XGROUP SETID",
        "XINFO CONSUMERS",
        "XINFO GROUPS",
        "XINFO STREAM",
        "MEMORY USAGE",
        "OBJECT ENCODING",
        "OBJECT IDLETIME",
    }
)


class OnceClusterPipeline(ClusterPipeline):
    """A pipeline sent once: redis-py 4.6 sends it up to `cluster_error_retry_attempts`
    times (and, with 0, raises UnboundLocalError), but a write that timed out may
    have happened, so it must not be sent again (Cluster, below)."""

    _command_stack: list[Any]

    async def execute(
        self, raise_on_error: bool = True, allow_redirections: bool = True
    ) -> list[Any]:
        if not self._command_stack:
            return []
        try:
            if self._client._initialize:
                await self._client.initialize()
            return await self._execute(
                self._client,
                self._command_stack,
                raise_on_error=raise_on_error,
                allow_redirections=allow_redirections,
            )
        finally:
            self._command_stack = []


class Cluster(RedisCluster):
    """redis-py's cluster client, routing stream subcommands by their key, and
    "no node answers" raised as a ConnectionError.

    redis-py raises RedisClusterException (not a RedisError) when it cannot reach
    any node or find every slot served; the channel keeps a text queued on a
    RedisError and counts anything else as a failed turn. So an unreachable cluster
    must look like an unreachable server.
    """

    def pipeline(
        self, transaction: Any | None = None, shard_hint: Any | None = None
    ) -> ClusterPipeline:
        """Pipelines sent once, like commands (no retries: redisio/client.py)."""
        super().pipeline(transaction, shard_hint)  # its checks of the arguments
        return OnceClusterPipeline(self)

    async def _determine_slot(self, command: str, *args: Any) -> int:
        """The slot of a stream subcommand's key, which redis-py 4.6's asyncio
        parser does not find (it refuses XGROUP CREATE: "Missing key")."""
        if command in _KEY_FIRST and args:
            return self.keyslot(args[0])
        return await super()._determine_slot(command, *args)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seeds = dict(self.nodes_manager.startup_nodes)

    async def initialize(self) -> RedisCluster:
        """Also: redis-py drops a node from its start-up list on each connection
        error or timeout, and with none left it can never connect again (every
        node timing out in one Redis pause did that). Start again from the seed
        and every node it knew."""
        manager = self.nodes_manager
        if not manager.startup_nodes:
            manager.startup_nodes.update({**self._seeds, **manager.nodes_cache})
        try:
            return await super().initialize()
        except RedisClusterException as error:
            raise RedisConnectionError(str(error)) from error
