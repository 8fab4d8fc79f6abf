"""RedisTicketLockStore against a real Redis: one holder at a time in ticket order,
waiters woken by the release itself, leases renewed while a turn runs and run out only
when the holder is gone, and waiters that give up never block the queue."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from rasa.core.lock_store import LockError, LockStore
from rasa.core.utils import AvailableEndpoints
from rasa.utils.endpoints import EndpointConfig
from redis.asyncio import Redis

import redisio
from redisio import RedisSettings
from redisio.settings import cluster_default
from stores.lock_store import RedisTicketLockStore
from tools.harness.redis_server import RedisServer

DB = 0 if cluster_default() else 11  # a Redis Cluster has only db 0
ROOT = Path(__file__).resolve().parents[2]
StoreFactory = Callable[..., RedisTicketLockStore]

# A replica that takes the lock and then dies without a word (SIGKILL from the test).
HOLDER = """
import asyncio, sys
from stores.lock_store import RedisTicketLockStore

async def main() -> None:
    store = RedisTicketLockStore(
        host="127.0.0.1", port=int(sys.argv[1]), db=int(sys.argv[2]), lock_lifetime=1
    )
    async with store.lock(sys.argv[3]):
        print("held", flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest_asyncio.fixture
async def redis_db(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = redisio.separate(RedisSettings.from_url(redis_server.url_for(DB)))
    await client.flushdb()
    yield client
    await client.flushdb()
    await redisio.close(client)


@pytest_asyncio.fixture
async def make_store(
    redis_server: RedisServer, redis_db: Redis
) -> AsyncIterator[StoreFactory]:
    """Each store is its own client, as each replica is."""
    made: list[RedisTicketLockStore] = []

    def make(**options: object) -> RedisTicketLockStore:
        store = RedisTicketLockStore(
            host="127.0.0.1", port=redis_server.port, db=DB, **options
        )
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


async def test_twenty_sections_from_two_stores_never_overlap_and_run_in_ticket_order(
    make_store: StoreFactory,
) -> None:
    stores = [make_store(), make_store()]
    inside = 0
    most_inside = 0
    entered: list[int] = []

    async def section(index: int) -> None:
        nonlocal inside, most_inside
        await asyncio.sleep(index * 0.002)
        async with stores[index % 2].lock("+14155550100") as held:
            inside += 1
            most_inside = max(most_inside, inside)
            entered.append(held.tickets[0].number)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(section(i) for i in range(20)))

    assert most_inside == 1
    assert entered == sorted(entered)
    assert len(set(entered)) == 20


async def test_a_waiter_is_woken_by_the_release_not_by_polling(
    make_store: StoreFactory,
) -> None:
    """The waiter re-checks on its own only every 5 s here, so entering within
    300 ms of the release can only come from the release message."""
    holder, waiter = make_store(), make_store()
    latencies: list[float] = []
    for _ in range(5):
        released = 0.0
        entered = asyncio.Event()

        async def wait(entered: asyncio.Event = entered) -> float:
            async with waiter.lock("+14155550101", wait_time_in_seconds=5):
                entered.set()
                return time.monotonic()

        async with holder.lock("+14155550101"):
            waiting = asyncio.create_task(wait())
            await asyncio.sleep(0.8)
            assert not entered.is_set()
            released = time.monotonic()
        latencies.append(await waiting - released)

    print(
        f"wake-up latency: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms"
    )
    assert max(latencies) < 0.3


async def test_a_dead_holders_lock_passes_on_after_its_lease(
    make_store: StoreFactory, redis_server: RedisServer
) -> None:
    """A holder process killed with SIGKILL renews nothing and releases nothing: the
    next waiter gets the turn once the 1 s lease runs out, not before."""
    conversation = "+14155550102"
    holder = await asyncio.create_subprocess_exec(
        *[sys.executable, "-c", HOLDER, str(redis_server.port), str(DB), conversation],
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert holder.stdout is not None
    try:
        line = await asyncio.wait_for(holder.stdout.readline(), 120)
        assert line.strip() == b"held"
        waiter = make_store()
        entered = asyncio.Event()

        async def wait() -> float:
            async with waiter.lock(conversation, wait_timeout=10):
                entered.set()
                return time.monotonic()

        waiting = asyncio.create_task(wait())
        await asyncio.sleep(1.5)  # longer than the lease: the live holder renews it
        assert not entered.is_set()
        os.killpg(holder.pid, signal.SIGKILL)
        killed = time.monotonic()
        waited = await waiting - killed
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(holder.pid, signal.SIGKILL)
        await holder.wait()

    print(f"after SIGKILL, the waiter entered in {waited * 1000:.0f} ms (lease 1 s)")
    assert 0.3 < waited < 2.0  # the lease had 2/3 to 1 s left at the kill


async def test_a_turn_longer_than_the_lease_keeps_the_lock(
    make_store: StoreFactory, redis_db: Redis
) -> None:
    holder, waiter = make_store(lock_lifetime=1), make_store(lock_lifetime=1)
    conversation = "+14155550103"
    lease_key = holder.keys(conversation)[2]
    times: dict[str, float] = {}

    async def wait() -> None:
        async with waiter.lock(conversation):
            times["entered"] = time.monotonic()

    async with holder.lock(conversation):
        waiting = asyncio.create_task(wait())
        await asyncio.sleep(3)
        assert "entered" not in times
        assert await redis_db.pttl(lease_key) > 0
        times["released"] = time.monotonic()
    await waiting

    assert times["entered"] >= times["released"]


async def test_waiters_that_time_out_or_are_cancelled_do_not_block_later_tickets(
    make_store: StoreFactory, redis_db: Redis
) -> None:
    holder, other = make_store(), make_store()
    conversation = "+14155550104"
    times: dict[str, float] = {}

    async def late() -> None:
        async with other.lock(conversation):
            times["entered"] = time.monotonic()

    async def forever() -> None:
        async with other.lock(conversation):
            raise AssertionError("a cancelled waiter entered")

    async with holder.lock(conversation):
        with pytest.raises(LockError):
            async with other.lock(conversation, wait_timeout=0.2):
                raise AssertionError("a timed-out waiter entered")
        cancelled = asyncio.create_task(forever())
        await asyncio.sleep(0.1)
        waiting = asyncio.create_task(late())
        await asyncio.sleep(0.1)
        cancelled.cancel()
        await asyncio.wait([cancelled])
        tickets_key = holder.keys(conversation)[3]
        assert len(await redis_db.hgetall(tickets_key)) == 2  # holder, late waiter
        await asyncio.sleep(0.3)
        times["released"] = time.monotonic()
    await waiting

    assert times["entered"] - times["released"] < 0.3


async def test_every_key_of_a_conversation_shares_its_hash_tag_and_an_idle_one_keeps_one(
    make_store: StoreFactory, redis_db: Redis
) -> None:
    store = make_store()
    seen: set[str] = set()
    async with store.lock("+14155550105"):
        seen.update([key async for key in redis_db.scan_iter()])  # every node
    left = [key async for key in redis_db.scan_iter()]

    names = ("next", "serving", "lease", "tickets")
    assert seen == {f"lock:{{+14155550105}}:{name}" for name in names}
    assert left == ["lock:{+14155550105}:next"]
    assert 0 < await redis_db.ttl(left[0]) <= 24 * 3600


async def test_endpoints_yml_loads_this_store(
    redis_server: RedisServer, redis_db: Redis, tmp_path: Path
) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "lock_store:\n"
        "  type: stores.lock_store.RedisTicketLockStore\n"
        "  url: 127.0.0.1\n"
        f"  port: {redis_server.port}\n"
        f"  db: {DB}\n"
        "  key_prefix: lock\n"
        '  lock_lifetime: "5"\n'
    )
    config = AvailableEndpoints.read_endpoints(str(endpoints)).lock_store

    store = LockStore.create(config)

    assert isinstance(store, RedisTicketLockStore)
    assert store.lease == 5.0
    async with store.lock("+14155550106") as held:
        assert held.tickets[0].number == 1
    await store.close()


def test_an_unknown_or_malformed_key_stops_start_up(redis_server: RedisServer) -> None:
    base = {"type": "stores.lock_store.RedisTicketLockStore", "url": "127.0.0.1"}
    with pytest.raises(ValueError, match="lock_store"):
        LockStore.create(EndpointConfig.from_dict({**base, "prot": 6379}))
    with pytest.raises(ValueError, match="lock_lifetime"):
        LockStore.create(EndpointConfig.from_dict({**base, "lock_lifetime": "soon"}))
