"""The SMS worker against the real Redis and the local Twilio emulator, with Rasa's
turn scripted: every reply part reaches the customer once, in order, whatever
fails in between."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
from redis.asyncio import Redis

from tests.connectors.worker_stack import (
    SID,
    TOKEN,
    Replica,
    ScriptedBot,
    control,
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
