"""Keys renamed for Redis Cluster, moved once from their old names on one server.

Contacts and the inactivity timer each got a hash tag of their own (redisio/keys.py)
so that a cluster can run their multi-key steps on one slot. A deployment that
stored them under the old names would otherwise lose its contacts and its pending
inactivity warnings on upgrade. `scripts/run.sh` runs this before the servers
start; after a complete pass a marker key makes later starts skip the scan.

RENAMENX keeps a key's TTL and never overwrites: a key that already exists under
its new name (written by the new code) wins, and the old one is left for an
operator to look at (reported). A Redis Cluster never held the old names (the old
code could not run on one), so nothing is done there.

    .venv/bin/python -m redisio.legacy_keys            # REDIS_URL, as the servers
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from redisio import keys
from redisio.client import client, close_all
from redisio.settings import RedisSettings

logger = logging.getLogger(__name__)

#: Set after a pass that moved or found every old key: later starts skip the scan.
DONE = keys.LEGACY_KEYS_RENAMED
SCAN_COUNT = 1000


@dataclass
class Renamed:
    moved: int = 0
    kept_both: list[str] = field(default_factory=list)  # new name already taken


def _between(key: str, head: str, tail: str) -> str | None:
    if key.startswith(head) and key.endswith(tail) and len(key) > len(head + tail):
        return key[len(head) : len(key) - len(tail)]
    return None


#: (SCAN pattern, old key -> new key or None). Old names as the code before the
#: cluster work spelled them.
PATTERNS: list[tuple[str, Callable[[str], str | None]]] = [
    (
        "contact:{*}",
        lambda k: (n := _between(k, "contact:{", "}")) and keys.contact(n),
    ),
    (
        f"{keys.PREFIX}:{{*}}:inactivity",
        lambda k: (
            (n := _between(k, f"{keys.PREFIX}:{{", "}:inactivity"))
            and keys.inactivity(n)
        ),
    ),
]
SINGLE = {
    "contacts": keys.CONTACTS_INDEX,
    f"{keys.PREFIX}:inactivity:warn": keys.INACTIVITY_WARN,
    f"{keys.PREFIX}:inactivity:close": keys.INACTIVITY_CLOSE,
}


async def _rename(redis: Redis, old: str, new: str, result: Renamed) -> None:
    if old == new:
        return
    try:
        if await redis.renamenx(old, new):
            result.moved += 1
        else:
            result.kept_both.append(old)
    except ResponseError:  # gone since the scan saw it
        return


async def rename_legacy_keys(redis: Redis) -> Renamed:
    """Move every old-named key to its new name; idempotent."""
    result = Renamed()
    if await redis.exists(DONE):
        return result
    for old, new in SINGLE.items():
        if await redis.exists(old):
            await _rename(redis, old, new, result)
    for pattern, new_name in PATTERNS:
        async for raw in redis.scan_iter(match=pattern, count=SCAN_COUNT):
            old = raw.decode() if isinstance(raw, bytes) else raw
            renamed = new_name(old)
            if renamed:
                await _rename(redis, old, renamed, result)
    if not result.kept_both:
        await redis.set(DONE, "1")
    return result


async def main() -> None:
    """One pass over REDIS_URL's server; prints what it moved and what it left."""
    settings = RedisSettings.from_url()
    if getattr(settings, "cluster", False):
        return
    try:
        result = await rename_legacy_keys(client(settings))
    finally:
        await close_all()
    if result.moved:
        print(f"renamed {result.moved} key(s) to their cluster-safe names")
    for old in result.kept_both:
        print(f"warning: {old} left as it is: its new name already exists")


if __name__ == "__main__":
    asyncio.run(main())
