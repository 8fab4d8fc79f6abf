"""Bounded memory: after 1,000 conversations through the SMS channel's own parts, and
the daily clean-up run with a clock a year and more ahead, every key the project
wrote has a TTL or a documented bound (tools/keyspace.py).

Real parts: the worker with its inbox, sender, inactivity timers and contacts, the
emulator taking the sends, our tracker store and lock store, all on the real
Redis. Only Rasa's NLU and policies are scripted: each turn takes the lock, stores
its events through the tracker store and replies, some with options.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from redis.asyncio import Redis

import redisio
from connectors.housekeeping import Housekeeping
from connectors.inactivity import Inactivity
from connectors.inbox import Inbox
from connectors.keywords import keyword
from connectors.sender import TwilioSender
from connectors.worker import SmsWorker
from redisio import RedisSettings
from redisio import keys as redis_keys
from stores.contacts import ContactStore
from stores.lock_store import RedisTicketLockStore
from stores.tracker_store import RedisSessionTrackerStore
from tests.connectors.worker_stack import (
    SID,
    TOKEN,
    ScriptedBot,
    inbound,
    worker_settings,
)
from tools.emulator import EmulatorConfig, running_emulator
from tools.harness.redis_server import RedisServer
from tools.keyspace import unbounded_keys

ROOT = Path(__file__).parents[2]
CONVERSATIONS = 1000
YEAR = 365 * 86400.0


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[str]:
    config = EmulatorConfig(
        account_sid=SID, auth_token=TOKEN, webhook_url=None, status_delay_ms=0
    )
    async with running_emulator(config) as url:
        yield url


class RasaLikeBot(ScriptedBot):
    """A turn as Rasa runs one, minus NLU: lock, retrieve, append, save, reply."""

    def __init__(
        self, store: RedisSessionTrackerStore, locks: RedisTicketLockStore
    ) -> None:
        super().__init__()
        self.store, self.locks = store, locks

    async def on_new_message(self, message: UserMessage) -> None:
        sender = message.sender_id
        async with self.locks.lock(sender):
            tracker = await self.store.retrieve(sender)
            if tracker is None:
                tracker = DialogueStateTracker(sender, self.store.domain.slots)
                for event in (
                    ActionExecuted("action_session_start"),
                    SessionStarted(),
                    ActionExecuted("action_listen"),
                ):
                    tracker.update(event)
            text = message.text or ""
            tracker.update(UserUttered(text, {"name": "faq", "confidence": 1.0}))
            tracker.update(ActionExecuted("action_answer_faq"))
            tracker.update(BotUttered("We're open Mon-Thu 8am-6pm."))
            tracker.update(ActionExecuted("action_listen"))
            await self.store.save(tracker)
        if "book" in text:
            await message.output_channel.send_text_with_buttons(
                sender,
                "Which time?",
                [
                    {"title": "9am", "payload": "/pick"},
                    {"title": "10am", "payload": "/p"},
                ],
            )
        else:
            await message.output_channel.send_text_message(
                sender, "We're open Mon-Thu 8am-6pm."
            )
        self.turns.append(text)

    async def record_inactivity_warning(self, customer: str, text: str) -> bool:
        return True


async def settle(redis: Redis, seconds: float = 90) -> None:
    """Until no conversation has queued work (every reply went out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await redis.zcard(redis_keys.WORK) == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(
        f"{await redis.zcard(redis_keys.WORK)} conversations still queued"
    )


async def test_a_thousand_conversations_leave_no_key_without_a_bound(
    redis: Redis, redis_server: RedisServer, emulator: str
) -> None:
    settings = worker_settings(
        emulator,
        redis_server,
        inactivity_warning_after_seconds="0.5",
        inactivity_grace_seconds="0.5",
        inactivity_poll_seconds="0.1",
        auto_create_contacts="true",
        worker_concurrency="32",
    )
    domain = Domain.load(ROOT / "domain.yml")
    store = RedisSessionTrackerStore(domain, host=redis_server.url, db=0)
    locks = RedisTicketLockStore(host=redis_server.url, db=0)
    bot = RasaLikeBot(store, locks)
    client = redisio.client(RedisSettings.from_url(redis_server.url, socket_timeout=10))
    inbox = Inbox(client, settings.dedupe_hours * 3600)
    sender = TwilioSender(settings, client)
    contacts = ContactStore(client)
    worker = SmsWorker(
        settings,
        client,
        inbox,
        sender,
        bot.on_new_message,
        bot,
        Inactivity(client, 0.5, 0.5),
        contacts,
        tracker_store=lambda: store,
    )
    await worker.start()
    try:
        customers = [f"+1415600{i:04d}" for i in range(CONVERSATIONS)]
        for i, customer in enumerate(customers):
            body = "can i book" if i % 7 == 0 else "what are your hours"
            sms = inbound(body, customer)
            await inbox.accept(sms, keyword(body))
            if i % 50 == 0:
                await inbox.accept(sms, keyword(body))  # Twilio's retry: a duplicate
        await settle(client)
        for i, customer in enumerate(customers[:100]):  # opt-outs and their logs
            for body in ("STOP", "START") if i % 2 else ("STOP",):
                await inbox.accept(inbound(body, customer), keyword(body))
            await inbox.accept(inbound("HELP", customer), keyword("HELP"))
        await settle(client)
        await asyncio.sleep(2)  # inactivity warnings fall due, then closes
        # A year and more later: the daily clean-up with the clock ahead.
        report = await Housekeeping(client, lambda: store, "keyspace-test").run(
            now=time.time() + YEAR + 86400
        )
    finally:
        await worker.stop()
        await sender.close()
        await store.close()
        await redisio.close_all()
    assert len(bot.turns) >= CONVERSATIONS
    assert report.trackers.conversations_deleted == CONVERSATIONS

    left = await unbounded_keys([redis])
    assert left == [], f"keys with no TTL and no bound: {left[:20]}"
    kinds: dict[str, Any] = {}
    async for raw in redis.scan_iter(count=1000):
        key = raw
        kind = key.split("}")[-1] if "}" in key else key
        kinds[kind] = kinds.get(kind, 0) + 1
    # The channel's per-conversation records were really written (and have TTLs).
    for kind in (":seen:", ":msg:", ":sent", ":phase:", ":optout"):
        assert any(kind in k or k.startswith(kind) for k in kinds), (kind, kinds)
