"""The SMS worker against the real Redis and the local Twilio emulator, with Rasa's
turn scripted: every reply part reaches the customer once, in order, whatever
fails in between."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from connectors.inbox import Entry
from redisio import keys as redis_keys
from tests.connectors.worker_stack import (
    CUSTOMER,
    Replica,
    ScriptedBot,
    control,
    emulator_for_replicas,
    inbound,
    sent_to,
    text_in,
    wait_for_texts,
    worker_settings,
)
from tests.redis_pause import client_pause
from tools.harness.redis_server import RedisServer

THREE_PARTS = [
    "First: your cleaning is booked for Tue.",
    "Second: please arrive ten minutes early.",
    "Third: reply C to cancel at any time ok.",
]


emulator = pytest_asyncio.fixture(emulator_for_replicas)


async def test_redis_failing_in_the_middle_of_a_reply_sends_no_part_twice(
    redis: Redis, redis_server: RedisServer, emulator: str
) -> None:
    """Redis stops answering after the first part went out; when it is back, the
    rest of the reply goes, and nothing that went already goes again."""
    bot = ScriptedBot(replies=lambda _text: THREE_PARTS)
    settings = worker_settings(emulator, redis_server, max_message_length=50)
    replica = await Replica.start(settings, bot, socket_timeout=0.3)
    try:
        await control(emulator, latency_ms=500)  # each part takes half a second
        await text_in(replica.inbox, "what do I need to know")
        assert len(await sent_to(emulator, wait=10)) == 1
        await client_pause(redis, 1200)
        await control(emulator, latency_ms=0)
        await wait_for_texts(emulator, 3)
        await asyncio.sleep(2)  # a repeat would come within a sweep or two
        bodies = [m["body"] for m in await sent_to(emulator)]
    finally:
        await replica.stop()
    assert bodies == THREE_PARTS
    assert bot.turns == ["what do I need to know"]


async def test_an_entry_that_always_fails_is_dead_lettered_and_the_next_answered(
    redis: Redis, redis_server: RedisServer, emulator: str
) -> None:
    """An entry whose processing raises every time (here: written without a body,
    as by a buggy release) gets three attempts, then the failure message once, and
    the customer's next text is answered."""
    bot = ScriptedBot()
    settings = worker_settings(emulator, redis_server)
    poison = Entry(
        "poison-entry",
        "message",
        dataclasses.replace(inbound("x"), body=None),  # type: ignore[arg-type]
        time.time(),
    )
    await redis.rpush(redis_keys.queue(CUSTOMER), poison.to_json())
    replica = await Replica.start(settings, bot)
    try:
        await text_in(replica.inbox, "are you open today")  # queued behind it
        await wait_for_texts(emulator, 2)
        await asyncio.sleep(1)
        bodies = [m["body"] for m in await sent_to(emulator)]
    finally:
        await replica.stop()
    assert bodies == [settings.failure_message, "You said: are you open today"]
    assert bot.turns == ["are you open today"]
    [dead] = [json.loads(r) for r in await redis.lrange(redis_keys.DEAD_LETTERS, 0, -1)]
    assert dead["entry_id"] == "poison-entry" and dead["attempts"] == 3
    assert "AttributeError" in dead["error"]
    assert Entry.from_json(dead["entry"]) == poison
    assert await redis.llen(redis_keys.queue(CUSTOMER)) == 0


async def test_replies_twilio_refuses_for_a_while_arrive_once_each_in_order(
    redis: Redis, redis_server: RedisServer, emulator: str
) -> None:
    """Twilio refuses every send for 3 s (20429 storm; shortened from 20 s): the
    replies are kept and retried with backoff, and arrive once each, in order."""
    bot = ScriptedBot()
    settings = worker_settings(
        emulator, redis_server, reply_retry_max_interval_seconds=0.5
    )
    replica = await Replica.start(settings, bot)
    try:
        await control(emulator, refuse_sends_ms=3000)
        await text_in(replica.inbox, "first question")
        await text_in(replica.inbox, "second question")
        await wait_for_texts(emulator, 2)
        await asyncio.sleep(1.5)
        bodies = [m["body"] for m in await sent_to(emulator)]
    finally:
        await replica.stop()
    assert bodies == ["You said: first question", "You said: second question"]
    assert bot.turns == ["first question", "second question"]
    assert await redis.llen(redis_keys.FAILED_SENDS) == 0


async def test_a_reply_refused_past_the_retry_window_is_recorded_undeliverable(
    redis: Redis,
    redis_server: RedisServer,
    emulator: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Retried for `reply_retry_seconds` only: then the reply is given up, on record
    for the operator with the reason, and the conversation goes on."""
    bot = ScriptedBot()
    settings = worker_settings(
        emulator,
        redis_server,
        send_attempts=1,
        reply_retry_seconds=1,
        reply_retry_max_interval_seconds=0.3,
    )
    replica = await Replica.start(settings, bot)
    try:
        await control(emulator, refuse_sends_ms=4000)  # well past the 1 s window
        refusal_ends = time.monotonic() + 4
        lost = await text_in(replica.inbox, "first question")
        records = await wait_for_records(redis, redis_keys.FAILED_SENDS, 1)
        await asyncio.sleep(refusal_ends - time.monotonic() + 0.1)
        await text_in(replica.inbox, "second question")
        await wait_for_texts(emulator, 1)
        await asyncio.sleep(1)
        bodies = [m["body"] for m in await sent_to(emulator)]
    finally:
        await replica.stop()
    assert bodies == ["You said: second question"]  # the first never went late
    [record] = records
    assert (record["reply"], record["part"], record["parts"]) == (
        lost.message_sid,
        1,
        1,
    )
    assert record["outcome"] == "undeliverable" and record["error_code"] == 20429
    assert record["customer"] == CUSTOMER and "20429" in record["reason"]
    assert f"{lost.message_sid}: part 1 of 1 undeliverable" in caplog.text
    listed = await failed_sends_tool(redis_server.url)
    assert lost.message_sid in listed and "undeliverable" in listed


async def test_an_ambiguous_500_is_not_sent_again_and_is_reported_unknown(
    redis: Redis, redis_server: RedisServer, emulator: str
) -> None:
    """Twilio answered 500 after taking the text: re-sending could double it, so it
    is left as it is and reported to the operator as unknown."""
    bot = ScriptedBot()
    replica = await Replica.start(worker_settings(emulator, redis_server), bot)
    try:
        await control(emulator, force=["500"])
        sms = await text_in(replica.inbox, "first question")
        [record] = await wait_for_records(redis, redis_keys.FAILED_SENDS, 1)
        await asyncio.sleep(1)
        sent = await sent_to(emulator)
    finally:
        await replica.stop()
    assert len(sent) == 1  # it did arrive; it was not sent twice
    assert (record["reply"], record["outcome"]) == (sms.message_sid, "unknown")


async def wait_for_records(
    redis: Redis, key: str, count: int, timeout: float = 15
) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await redis.llen(key) >= count:
            return [json.loads(r) for r in await redis.lrange(key, 0, -1)]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key}: {await redis.llen(key)} records, expected {count}")


async def failed_sends_tool(redis_url: str) -> str:
    """`make failed-sends` as an operator runs it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tools.failed_sends",
        "--redis-url",
        redis_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_redis_paused_during_a_slow_turn_on_two_replicas_runs_it_once(
    redis: Redis, redis_server: RedisServer, emulator: str
) -> None:
    """Two replicas; while one runs a slow turn (5 s), Redis is paused (CLIENT
    PAUSE) for longer than one lease renewal interval (1.4 s > 1 s; lease 3 s):
    the lease holds, the other replica does not run the turn a second time, and
    the customer gets one set of replies."""
    bot = ScriptedBot(delay=5, replies=lambda text: [f"Booked: {text}"])
    settings = worker_settings(emulator, redis_server, owner_lease_seconds=3)
    first = await Replica.start(settings, bot, socket_timeout=0.25)
    second = await Replica.start(settings, bot, socket_timeout=0.25)
    try:
        await text_in(first.inbox, "tue 10am")
        await asyncio.wait_for(bot.started.wait(), 10)
        await asyncio.sleep(0.3)
        await client_pause(redis, 1400)
        await wait_for_texts(emulator, 1, timeout=20)
        await asyncio.sleep(4)  # a second turn would have answered by now
        bodies = [m["body"] for m in await sent_to(emulator)]
    finally:
        await first.stop()
        await second.stop()
    assert bot.turns == ["tue 10am"]
    assert bodies == ["Booked: tue 10am"]


async def test_a_turn_whose_lease_lapsed_in_a_long_pause_is_not_run_again(
    redis: Redis, redis_server: RedisServer, emulator: str
) -> None:
    """Redis paused for twice the lease (3 s, lease 1.5 s) during a 6 s turn: the
    lease lapses and the other replica takes the conversation, but it waits for
    the running turn's replies instead of running the turn a second time."""
    bot = ScriptedBot(delay=6, replies=lambda text: [f"Booked: {text}"])
    settings = worker_settings(emulator, redis_server, owner_lease_seconds=1.5)
    first = await Replica.start(settings, bot, socket_timeout=0.25)
    second = await Replica.start(settings, bot, socket_timeout=0.25)
    try:
        await text_in(first.inbox, "tue 10am")
        await asyncio.wait_for(bot.started.wait(), 10)
        await asyncio.sleep(0.3)
        await client_pause(redis, 3000)
        await wait_for_texts(emulator, 1, timeout=20)
        await asyncio.sleep(3)
        bodies = [m["body"] for m in await sent_to(emulator)]
        queued = await redis.llen(redis_keys.queue(CUSTOMER))
    finally:
        await first.stop()
        await second.stop()
    assert bot.turns == ["tue 10am"]
    assert bodies == ["Booked: tue 10am"]
    assert queued == 0
