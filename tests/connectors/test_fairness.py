"""Under load every conversation gets its turn in the order it asked: no customer
waits behind a chatty one, and none is overtaken again and again by newcomers.
In process, with the real Redis and emulator; Rasa's turn is scripted to take a
fixed time, as a CPU-bound turn does."""

from __future__ import annotations

import asyncio

import pytest_asyncio
from redis.asyncio import Redis

from tests.connectors.worker_stack import (
    Replica,
    ScriptedBot,
    emulator_for_replicas,
    text_in,
    wait_for_texts,
    worker_settings,
)
from tools.harness.redis_server import RedisServer

emulator = pytest_asyncio.fixture(emulator_for_replicas)


def phone(k: int) -> str:
    return f"+1415555{k:04d}"


async def test_a_customer_is_not_kept_waiting_behind_another_ones_burst(
    redis: Redis, redis_server: RedisServer, emulator: str
) -> None:
    """One customer sends six texts at once; another texts once just after. With
    one turn at a time, the second customer's turn comes second, not seventh:
    conversations take turns, a text each."""
    bot = ScriptedBot(delay=0.05)
    settings = worker_settings(emulator, redis_server, worker_concurrency=1)
    replica = await Replica.start(settings, bot)
    try:
        for k in range(6):
            await text_in(replica.inbox, f"chatty {k}", phone(1))
        await bot.started.wait()
        await text_in(replica.inbox, "quiet 0", phone(2))
        await wait_for_texts(emulator, 1, phone(2))
        await wait_for_texts(emulator, 6, phone(1))
    finally:
        await replica.stop()
    assert bot.turns.index("quiet 0") <= 2, bot.turns
    # Each customer's own texts still in the order sent.
    assert [t for t in bot.turns if t.startswith("chatty")] == [
        f"chatty {k}" for k in range(6)
    ]


async def test_conversations_are_served_in_the_order_their_texts_came(
    redis: Redis, redis_server: RedisServer, emulator: str
) -> None:
    """Texts keep arriving while turns run: each conversation's turn starts
    close to its place in the arrival order, none is overtaken again and again."""
    bot = ScriptedBot(delay=0.04)
    settings = worker_settings(emulator, redis_server, worker_concurrency=2)
    replica = await Replica.start(settings, bot)
    arrivals = [f"text {k}" for k in range(30)]
    try:
        for k, body in enumerate(arrivals):
            await text_in(replica.inbox, body, phone(k))
            await asyncio.sleep(0.015)  # faster than turns end: a backlog grows
        for k in range(len(arrivals)):
            await wait_for_texts(emulator, 1, phone(k), timeout=30)
    finally:
        await replica.stop()
    overtaken = {
        body: bot.turns.index(body) - arrivals.index(body)
        for body in arrivals
        if bot.turns.index(body) - arrivals.index(body) > 0
    }
    assert max(overtaken.values(), default=0) <= 2, (overtaken, bot.turns)


async def test_a_text_that_comes_as_its_conversation_finishes_is_not_left_to_a_sweep(
    redis: Redis, redis_server: RedisServer, emulator: str
) -> None:
    """The customer's next text lands just as the worker lets go of the
    conversation (its queue looked empty): it is served at once, not after
    `reclaim_after_seconds` (30 s by default) when the sweeper finds it."""
    bot = ScriptedBot()
    settings = worker_settings(emulator, redis_server, reclaim_after_seconds=30)
    replica = await Replica.start(settings, bot)
    real_release = replica.inbox.release
    texted: list[str] = []

    async def release_then_text(customer: str, token: str) -> int:
        remaining = await real_release(customer, token)
        if not texted:  # the next text arrives in exactly this moment
            texted.append("second")
            await text_in(replica.inbox, "second", phone(7))
        return remaining

    replica.inbox.release = release_then_text  # type: ignore[method-assign]
    try:
        await text_in(replica.inbox, "first", phone(7))
        await wait_for_texts(emulator, 2, phone(7), timeout=10)
    finally:
        await replica.stop()
    assert bot.turns == ["first", "second"]
