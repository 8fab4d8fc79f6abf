"""What the worker asks of Rasa's conversations (connectors/conversations.py), in
process: a Sanic app holding a Rasa Agent with this project's domain, its Redis
tracker store and Redis lock store on the test Redis. No model is loaded: these
questions and commands need the stores and the domain only."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio
from rasa.core.agent import Agent
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    Event,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from connectors.conversations import INACTIVITY_INTENT, RasaConversations
from stores.lock_store import RedisTicketLockStore
from stores.tracker_store import RedisSessionTrackerStore
from tools.harness.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = "+14155552671"
DB = 11


@dataclass
class Rasa:
    conversations: RasaConversations
    tracker_store: RedisSessionTrackerStore

    async def save(self, *events: Event, at: float | None = None) -> None:
        tracker = DialogueStateTracker.from_events(CUSTOMER, [])
        for event in events:
            if at is not None:
                event.timestamp = at
            tracker.update(event)
        await self.tracker_store.save(tracker)

    async def events(self) -> list[Event]:
        tracker = await self.tracker_store.retrieve(CUSTOMER)
        return list(tracker.events) if tracker else []


@pytest_asyncio.fixture
async def rasa(redis_server: RedisServer) -> AsyncIterator[Rasa]:
    domain = Domain.load(ROOT / "domain.yml")
    where = {"host": "127.0.0.1", "port": redis_server.port, "db": DB}
    tracker_store = RedisSessionTrackerStore(domain, **where)
    lock_store = RedisTicketLockStore(**where, lock_lifetime=2)
    await tracker_store.redis.get().flushdb()
    app = Sanic(f"conversations-{uuid.uuid4().hex[:12]}")
    app.ctx.agent = Agent(
        domain=domain, tracker_store=tracker_store, lock_store=lock_store
    )
    yield Rasa(RasaConversations(app), tracker_store)
    await tracker_store.redis.get().flushdb()
    await tracker_store.close()


def said(text: str, sid: str) -> UserUttered:
    return UserUttered(text, {"name": "greet", "confidence": 1.0}, message_id=sid)


async def test_a_number_that_never_texted_has_no_active_session(rasa: Rasa) -> None:
    assert not await rasa.conversations.has_active_session(CUSTOMER)
    assert await rasa.conversations.replies_to(CUSTOMER, "SMnever") is None
    assert not await rasa.conversations.record_inactivity_warning(
        CUSTOMER, "Still there?"
    )


async def test_a_session_is_active_until_the_domains_expiry_from_the_last_event(
    rasa: Rasa,
) -> None:
    """The business speaking last (an outbound text) keeps it active too."""
    day = 24 * 3600
    await rasa.save(said("hi", "SM1"), at=time.time() - day - 60)
    assert not await rasa.conversations.has_active_session(CUSTOMER)
    await rasa.save(
        said("hi", "SM1"), BotUttered("Your reminder"), at=time.time() - day + 60
    )
    assert await rasa.conversations.has_active_session(CUSTOMER)


async def test_replies_to_a_text_are_those_of_its_own_turn_only(rasa: Rasa) -> None:
    buttons = [{"title": "Yes", "payload": "/affirm"}]
    await rasa.save(
        ActionExecuted("action_session_start"),
        SessionStarted(),
        said("book a cleaning", "SM1"),
        BotUttered("Which day?", {"buttons": buttons}),
        said("tuesday", "SM2"),
        BotUttered("Tuesday has 9am."),
        BotUttered("Book it?"),
        said("yes", "SM3"),
    )
    assert await rasa.conversations.replies_to(CUSTOMER, "SM1") == [
        ("Which day?", buttons)
    ]
    assert await rasa.conversations.replies_to(CUSTOMER, "SM2") == [
        ("Tuesday has 9am.", []),
        ("Book it?", []),
    ]
    # Saved before the bot answered: the turn ran, with no replies (not None).
    assert await rasa.conversations.replies_to(CUSTOMER, "SM3") == []
    assert await rasa.conversations.replies_to(CUSTOMER, "SM4") is None


async def test_an_inactivity_warning_goes_into_the_conversation_as_the_bots_text(
    rasa: Rasa,
) -> None:
    await rasa.save(said("book a cleaning", "SM1"), BotUttered("Which day?"))
    assert await rasa.conversations.record_inactivity_warning(CUSTOMER, "Still there?")
    *_, external, warning = await rasa.events()
    assert isinstance(external, UserUttered)
    assert external.intent_name == INACTIVITY_INTENT
    assert isinstance(warning, BotUttered) and warning.text == "Still there?"
    assert warning.metadata == {"inactivity": "warning"}


async def test_a_conversation_handed_to_a_person_gets_no_warning(rasa: Rasa) -> None:
    await rasa.save(said("talk to a person", "SM1"), ConversationPaused())
    before = await rasa.events()
    assert not await rasa.conversations.record_inactivity_warning(CUSTOMER, "Hello?")
    assert len(await rasa.events()) == len(before)
