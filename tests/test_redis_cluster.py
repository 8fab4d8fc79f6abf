"""The project on a real 3-master Redis Cluster: every multi-key step stays on one
hash slot (a cluster refuses anything else with CROSSSLOT), clients follow
`REDIS_CLUSTER`, and a cluster with a db other than 0 is refused at start-up.

The cluster starts once for this module (~2 s), whatever `REDIS_CLUSTER` says;
`make test-cluster` runs the other Redis suites and the e2e SMS suite on one too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import cast

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

import redisio
from actions.handoff_store import HandoffRequest, HandoffStore
from connectors import failures, suppression
from connectors.inactivity import CLOSED, WARNED, Inactivity
from redisio import RedisSettings
from redisio import keys as redis_keys
from redisio.atomic import atomic
from stores.contacts import ContactInput, ContactStore
from stores.lock_store import RedisTicketLockStore
from stores.tracker_store import RedisSessionTrackerStore
from tools.harness.redis_cluster import RedisClusterServer

CUSTOMER, BUSINESS = "+14155552671", "+15017122661"


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterServer]:
    server = RedisClusterServer()
    yield server
    server.stop()


@pytest.fixture
def settings(cluster: RedisClusterServer) -> RedisSettings:
    return RedisSettings.from_url(cluster.url, cluster=True)


@pytest_asyncio.fixture
async def on_cluster(settings: RedisSettings) -> AsyncIterator[Redis]:
    client = redisio.client(settings)
    await client.flushdb()
    yield client
    await client.flushdb()
    await redisio.close_all()


# --- settings ------------------------------------------------------------------


def test_a_cluster_with_a_db_other_than_0_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(
        ValueError, match=r"^db: a Redis Cluster .* only db 0, got db 1"
    ):
        RedisSettings.from_url("redis://127.0.0.1:7000/1", cluster=True)
    monkeypatch.setenv("REDIS_CLUSTER", "true")
    # Rasa's `type: redis` lock store defaults to db 1: stated, not silently changed.
    with pytest.raises(ValueError, match=r"^db: "):
        RedisTicketLockStore(host="127.0.0.1", port=7000)
    assert RedisSettings.from_url("redis://127.0.0.1:7000/0").cluster


def test_a_bad_REDIS_CLUSTER_value_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_CLUSTER", "maybe")
    with pytest.raises(ValueError, match="^REDIS_CLUSTER: expected true or false"):
        RedisSettings.from_url("redis://127.0.0.1:7000/0")


async def test_REDIS_CLUSTER_gives_every_part_a_cluster_client(
    cluster: RedisClusterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_CLUSTER", "true")
    channel = redisio.client(RedisSettings.from_url(cluster.url))
    tracker_store = RedisSessionTrackerStore(None, host=cluster.url)  # type: ignore[arg-type]
    lock_store = RedisTicketLockStore(host=cluster.url)
    try:
        assert isinstance(channel, RedisCluster)
        assert tracker_store.redis.get() is channel  # one client per process
        assert lock_store.redis.get() is channel
        assert await channel.ping()
    finally:
        await redisio.close_all()
    monkeypatch.delenv("REDIS_CLUSTER")
    assert not RedisSettings.from_url(cluster.url).cluster  # the default: one server


async def test_a_script_whose_keys_span_slots_is_refused_on_one_server_too(
    redis: Redis,
) -> None:
    with pytest.raises(ValueError, match="keys span 2 hash slots"):
        await atomic(redis, ("SET", "{a}:x", 1), ("SET", "{b}:x", 1))
    assert await redis.exists("{a}:x", "{b}:x") == 0  # nothing was run


# --- the multi-key steps, on the cluster -----------------------------------------


async def test_the_inactivity_timer_runs_on_a_cluster(on_cluster: Redis) -> None:
    idle = Inactivity(on_cluster, 60, 10)
    await idle.engaged(CUSTOMER, BUSINESS, BUSINESS, now=1000)
    assert await idle.due(redis_keys.INACTIVITY_WARN, 1060) == [CUSTOMER]
    assert await idle.claim(redis_keys.INACTIVITY_WARN, CUSTOMER, 1060)
    await idle.warned(CUSTOMER, now=1060)
    state = await idle.get(CUSTOMER)
    assert state is not None and state.phase == WARNED
    assert await idle.claim(redis_keys.INACTIVITY_CLOSE, CUSTOMER, 1070)
    await idle.closed(CUSTOMER)
    assert await idle.is_closed(CUSTOMER)
    assert (await idle.get(CUSTOMER)).phase == CLOSED  # type: ignore[union-attr]
    await idle.forget(CUSTOMER)
    assert await idle.get(CUSTOMER) is None


async def test_a_contacts_import_of_many_numbers_is_one_step_on_a_cluster(
    on_cluster: Redis,
) -> None:
    store = ContactStore(on_cluster)
    numbers = [f"+1415555{n:04d}" for n in range(200)]  # spread over every node
    created = await store.upsert_many(
        [ContactInput(n, f"N{n[-4:]}") for n in numbers], "import", now=5.0
    )
    assert created == 200
    assert await store.count() == 200
    _, was_new = await store.create_if_missing(numbers[7])
    assert not was_new
    contact = await store.get(numbers[7])
    assert contact is not None and contact.name == "N0007"


async def test_the_channels_records_are_written_on_a_cluster(on_cluster: Redis) -> None:
    await suppression.suppress(on_cluster, CUSTOMER, BUSINESS, "21610")
    assert await suppression.is_suppressed(on_cluster, CUSTOMER, BUSINESS)
    assert len(await suppression.history(on_cluster, CUSTOMER)) == 1
    await failures.dead_letter(
        on_cluster,
        customer=CUSTOMER,
        message_sid="SM1",
        entry_id="1",
        attempts=3,
        error="boom",
        entry="{}",
    )
    assert len(await failures.newest(on_cluster, redis_keys.DEAD_LETTERS)) == 1
    handoffs = HandoffStore(on_cluster)
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    await handoffs.record(HandoffRequest(CUSTOMER, when, "sms", ("customer: hi",)))
    pending = await handoffs.pending(CUSTOMER)
    assert pending is not None and pending.last_messages == ("customer: hi",)


async def test_lock_waiters_on_a_cluster_take_turns_one_at_a_time(
    cluster: RedisClusterServer, on_cluster: Redis
) -> None:
    """Two replicas' stores; releases are published from the conversations' nodes
    and heard by the subscriber on the seed node."""
    stores = [RedisTicketLockStore(host=cluster.url, cluster=True) for _ in range(2)]
    inside: dict[str, int] = {}
    most: dict[str, int] = {}

    async def turn(n: int, conversation: str) -> None:
        async with stores[n % 2].lock(conversation, wait_timeout=20):
            inside[conversation] = inside.get(conversation, 0) + 1
            most[conversation] = max(most.get(conversation, 0), inside[conversation])
            await asyncio.sleep(0.02)
            inside[conversation] -= 1

    conversations = [f"+1415555{n:04d}" for n in range(6)]  # on several nodes
    await asyncio.gather(*(turn(n, c) for n in range(5) for c in conversations))
    assert most == {c: 1 for c in conversations}


async def test_a_lock_waiter_on_a_cluster_is_woken_by_the_release(
    cluster: RedisClusterServer, on_cluster: Redis
) -> None:
    """The release is published by the script on the conversation's node; the
    waiter's subscriber is on the seed node, and hears it through the cluster."""
    holder, waiter = (
        RedisTicketLockStore(host=cluster.url, cluster=True) for _ in "ab"
    )
    nodes = cast(RedisCluster, on_cluster)
    conversation = next(  # a conversation whose keys live on another node
        c
        for c in (f"+1415555{n:04d}" for n in range(100))
        if nodes.get_node_from_key(redis_keys.lock_keys("lock", c)[0]).port
        != cluster.port
    )
    loop = asyncio.get_running_loop()
    async with holder.lock(conversation):
        waiting = asyncio.create_task(_enter(waiter, conversation, loop))
        await asyncio.sleep(2.0)
        released = loop.time()
    entered = await waiting
    # Without the message the waiter's next re-check would come 0.55 s or more
    # later (back-off 0.05, 0.1, 0.2, 0.4, 0.8, 1.6 s; wait_time_in_seconds=5).
    assert entered - released < 0.3


async def _enter(
    store: RedisTicketLockStore, conversation: str, loop: asyncio.AbstractEventLoop
) -> float:
    async with store.lock(conversation, wait_time_in_seconds=5):
        return loop.time()
