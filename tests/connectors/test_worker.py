"""The SMS worker against the real Redis and the local Twilio emulator, with Rasa's
turn scripted: every reply part reaches the customer once, in order, whatever
fails in between."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator

import pytest_asyncio
from redis.asyncio import Redis

from connectors import redis_keys
from connectors.inbox import Entry
from tests.connectors.worker_stack import (
    CUSTOMER,
    SID,
    TOKEN,
    Replica,
    ScriptedBot,
    control,
    inbound,
    sent_to,
    text_in,
    wait_for_texts,
    worker_settings,
)
from tests.redis_server import RedisServer
from tools.emulator import EmulatorConfig, running_emulator

THREE_PARTS = [
    "First: your cleaning is booked for Tue.",
    "Second: please arrive ten minutes early.",
    "Third: reply C to cancel at any time ok.",
]


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[str]:
    config = EmulatorConfig(account_sid=SID, auth_token=TOKEN, webhook_url=None)
    async with running_emulator(config) as url:
        yield url


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
        await redis.execute_command("CLIENT", "PAUSE", "1200", "ALL")
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
