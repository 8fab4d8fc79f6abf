"""RedisSessionTrackerStore against a real Redis: a turn reads only its session,
saves append only what is new, and Rasa's loaders and callers get what they expect."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis.exceptions
from rasa.core.agent import Agent
from rasa.core.brokers.broker import EventBroker
from rasa.core.exporter import Exporter
from rasa.core.tracker_store import (
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    TrackerStore,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import (
    DialogueStateTracker,
    get_trackers_for_conversation_sessions,
)
from rasa.utils.endpoints import EndpointConfig
from redis.asyncio.cluster import RedisCluster

from redisio.settings import cluster_default
from stores.tracker_store import RedisSessionTrackerStore, TrimReport
from tools.harness.redis_server import RedisServer, free_port

DB = 0 if cluster_default() else 9  # a Redis Cluster has only db 0
CUSTOMER = "+14155552671"
ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.5  # fixed timestamps: equal sessions serialise to equal sizes


def session(number: int, turns: int = 4, name: str | None = "Sam") -> list[Event]:
    """One session as Rasa writes it: start, carried-over name, then turns."""
    t = T0 + number * 1000
    events: list[Event] = [
        ActionExecuted("action_session_start", timestamp=t),
        SessionStarted(timestamp=t),
    ]
    if name:
        events.append(SlotSet("customer_name", name, timestamp=t))
    events.append(ActionExecuted("action_listen", timestamp=t))
    for turn in range(turns):
        at = t + 10 * (turn + 1)
        events += [
            UserUttered(
                "hi",
                {"name": "greet", "confidence": 1.0},
                timestamp=at,
                input_channel="twilio_sms",
                message_id=f"SM{number:04d}{turn:04d}",
                metadata={"channel_type": "sms", "to": "+15017122661"},
            ),
            ActionExecuted("utter_greet", timestamp=at + 1),
            BotUttered("Hi", {"buttons": None}, timestamp=at + 1),
            ActionExecuted("action_listen", timestamp=at + 2),
        ]
    return events


def dicts(events: Any) -> list[dict[str, Any]]:
    return [event.as_dict() for event in events]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(ROOT / "domain.yml")


@pytest_asyncio.fixture
async def make_store(
    redis_server: RedisServer, domain: Domain
) -> AsyncIterator[Callable[..., RedisSessionTrackerStore]]:
    """Stores on a flushed db 9 of the test Redis, closed after the test."""
    made: list[RedisSessionTrackerStore] = []

    def make(**kwargs: Any) -> RedisSessionTrackerStore:
        kwargs = {"host": "127.0.0.1", "port": redis_server.port, "db": DB, **kwargs}
        store = RedisSessionTrackerStore(domain, **kwargs)
        made.append(store)
        return store

    await make().redis.get().flushdb()
    yield make
    await made[0].redis.get().flushdb()
    for store in made:
        await store.close()


@pytest.fixture
def store(
    make_store: Callable[..., RedisSessionTrackerStore],
) -> RedisSessionTrackerStore:
    return make_store()


async def store_sessions(
    store: RedisSessionTrackerStore, sender_id: str, count: int, turns: int = 4
) -> list[Event]:
    """Save session after session the way Rasa does: retrieve, append, save."""
    everything: list[Event] = []
    for number in range(count):
        tracker = await store.retrieve(sender_id) or DialogueStateTracker(
            sender_id, store.domain.slots
        )
        new = session(number, turns)
        tracker.update_with_events(new, None, override_timestamp=False)
        await store.save(tracker)
        everything += new
    return everything


async def test_round_trip_gives_back_every_event(store: RedisSessionTrackerStore):
    events = session(0)
    await store.save(DialogueStateTracker.from_events(CUSTOMER, events))

    tracker = await store.retrieve(CUSTOMER)

    assert tracker is not None
    assert dicts(tracker.events) == dicts(events)
    assert tracker.get_slot("customer_name") == "Sam"


async def test_retrieve_is_the_latest_session_full_is_all(
    store: RedisSessionTrackerStore,
):
    first = session(0) + [SlotSet("service", "cleaning", timestamp=T0 + 99)]
    second = session(1)
    await store.save(DialogueStateTracker.from_events(CUSTOMER, first + second))

    current = await store.retrieve(CUSTOMER)
    full = await store.retrieve_full_tracker(CUSTOMER)

    assert current is not None and full is not None
    assert dicts(current.events) == dicts(second)
    assert dicts(full.events) == dicts(first + second)
    # The slots are the session's, replayed from its events.
    assert current.get_slot("customer_name") == "Sam"
    assert current.get_slot("service") is None
    # GET /conversations/<id>/story?all_sessions=true splits the full tracker.
    assert len(get_trackers_for_conversation_sessions(full)) == 2


async def test_saving_twice_stores_no_duplicates(store: RedisSessionTrackerStore):
    tracker = DialogueStateTracker.from_events(CUSTOMER, session(0))
    await store.save(tracker)
    await store.save(tracker)
    # A copy carries no mark: the last stored event is found in it instead.
    await store.save(DialogueStateTracker.from_events(CUSTOMER, session(0)))

    client = store.redis.get()
    assert await client.llen(store.events_key(CUSTOMER)) == len(session(0))


async def test_concurrent_saves_of_one_tracker_store_it_once(
    store: RedisSessionTrackerStore,
):
    copies = [DialogueStateTracker.from_events(CUSTOMER, session(0)) for _ in range(5)]
    await asyncio.gather(*(store.save(tracker) for tracker in copies))

    client = store.redis.get()
    assert await client.llen(store.events_key(CUSTOMER)) == len(session(0))


async def test_a_current_session_tracker_appends_exactly_its_new_events(
    store: RedisSessionTrackerStore,
):
    history = await store_sessions(store, CUSTOMER, 3)
    tracker = await store.retrieve(CUSTOMER)
    assert tracker is not None
    turn = session(2, turns=5)[-4:]  # one more turn, new timestamps

    tracker.update_with_events(turn, None, override_timestamp=False)
    await store.save(tracker)
    await store.save(tracker)

    full = await store.retrieve_full_tracker(CUSTOMER)
    assert full is not None
    assert dicts(full.events) == dicts(history + turn)


async def test_a_long_session_comes_as_a_window_and_saves_only_its_new_turn(
    store: RedisSessionTrackerStore,
):
    history = session(0, turns=40)
    tracker = DialogueStateTracker(CUSTOMER, store.domain.slots)
    tracker.update_with_events(history, None, override_timestamp=False)
    await store.save(tracker)

    window = await store.retrieve(CUSTOMER)
    assert window is not None
    assert len(window.events) < len(history) / 3  # 10 turns, not 40
    assert window.get_slot("customer_name") == "Sam"
    assert dicts(list(window.events)[-40:]) == dicts(history[-40:])
    turn = session(0, turns=41)[-4:]
    window.update_with_events(turn, None, override_timestamp=False)
    await store.save(window)

    full = await store.retrieve_full_tracker(CUSTOMER)
    assert full is not None
    assert dicts(full.events) == dicts(history + turn)


async def test_window_turns_0_reads_the_whole_session(
    make_store: Callable[..., RedisSessionTrackerStore],
):
    store = make_store(window_turns=0)
    history = session(0, turns=40)
    tracker = DialogueStateTracker(CUSTOMER, store.domain.slots)
    tracker.update_with_events(history, None, override_timestamp=False)
    await store.save(tracker)
    whole = await store.retrieve(CUSTOMER)
    assert whole is not None and dicts(whole.events) == dicts(history)


async def test_an_unmarked_copy_appends_only_what_follows_the_stored_tail(
    store: RedisSessionTrackerStore,
):
    history = await store_sessions(store, CUSTOMER, 2)
    current = await store.retrieve(CUSTOMER)
    assert current is not None
    turn = session(1, turns=5)[-4:]
    # Built afresh, so it carries no mark: as after a copy, or from the REST API.
    copied = DialogueStateTracker.from_events(CUSTOMER, list(current.events) + turn)

    await store.save(copied)

    full = await store.retrieve_full_tracker(CUSTOMER)
    assert full is not None
    assert dicts(full.events) == dicts(history + turn)


async def test_a_new_session_on_a_retrieved_tracker_starts_the_index_there(
    store: RedisSessionTrackerStore,
):
    """Rasa runs action_session_start on the old session's tracker, then saves it."""
    history = await store_sessions(store, CUSTOMER, 1)
    tracker = await store.retrieve(CUSTOMER)
    assert tracker is not None

    tracker.update_with_events(session(1), None, override_timestamp=False)
    await store.save(tracker)

    current = await store.retrieve(CUSTOMER)
    assert current is not None
    assert dicts(current.events) == dicts(session(1))
    client = store.redis.get()
    starts = await client.lrange(store.sessions_key(CUSTOMER), 0, -1)
    assert starts == ["0", str(len(history))]


async def bytes_sent(client: Any, read: Callable[[], Any]) -> int:
    """Bytes Redis wrote while `read` ran, less those of the INFO calls measuring it."""

    async def total() -> int:
        if isinstance(client, RedisCluster):  # every node's, summed
            stats = await client.info("stats", target_nodes=RedisCluster.ALL_NODES)
            return sum(int(node["total_net_output_bytes"]) for node in stats.values())
        return int((await client.info("stats"))["total_net_output_bytes"])

    async def nothing() -> None:
        return None

    async def delta(action: Callable[[], Any]) -> int:
        before = await total()
        await action()
        return await total() - before

    return await delta(read) - await delta(nothing)


async def test_retrieve_reads_the_same_bytes_after_50_sessions_as_after_one(
    store: RedisSessionTrackerStore,
):
    """50 sessions of 20 events: a turn's read does not grow with the history."""
    new, old = "+14155550001", "+14155550050"
    await store_sessions(store, new, 1)
    history = await store_sessions(store, old, 50)
    assert len(session(0)) == 20 and len(history) == 1000
    client = store.redis.get()

    one_session = await bytes_sent(client, lambda: store.retrieve(new))
    fifty_sessions = await bytes_sent(client, lambda: store.retrieve(old))
    full_history = await bytes_sent(client, lambda: store.retrieve_full_tracker(old))

    tracker = await store.retrieve(old)
    assert tracker is not None
    assert dicts(tracker.events) == dicts(history[-20:])
    assert fifty_sessions <= one_session * 1.05
    assert full_history >= 45 * one_session


async def test_keys_exists_and_record_exp(
    make_store: Callable[..., RedisSessionTrackerStore],
):
    store = make_store(record_exp=60)
    senders = ["+14155550001", "+14155550002", "+447700900123"]
    for sender_id in senders:
        await store.save(DialogueStateTracker.from_events(sender_id, session(0)))
    client = store.redis.get()
    await client.zadd(store.index_key, {"+15550000000": 1.0})  # expired long ago

    assert sorted(await store.keys()) == sorted(senders)
    assert await store.exists(senders[0])
    assert not await store.exists("+15550000009")
    for key in (store.events_key(senders[0]), store.sessions_key(senders[0])):
        assert 0 < await client.pttl(key) <= 60_000


async def test_no_expiry_without_record_exp(store: RedisSessionTrackerStore):
    await store.save(DialogueStateTracker.from_events(CUSTOMER, session(0)))
    assert await store.redis.get().pttl(store.events_key(CUSTOMER)) == -1
    assert await store.keys() == [CUSTOMER]


async def test_keys_share_the_conversation_hash_tag(
    make_store: Callable[..., RedisSessionTrackerStore],
):
    store = make_store(key_prefix="tracker")
    assert store.events_key(CUSTOMER) == "tracker:{+14155552671}:events"
    assert store.sessions_key(CUSTOMER) == "tracker:{+14155552671}:sessions"
    assert store.index_key == "tracker:conversations"


def endpoint(port: Any, **extra: Any) -> EndpointConfig:
    return EndpointConfig.from_dict(
        {
            "type": "stores.tracker_store.RedisSessionTrackerStore",
            "url": "127.0.0.1",
            "port": port,
            "db": DB,
            "key_prefix": "tracker",
            **extra,
        }
    )


async def test_rasa_loads_the_class_unwrapped_and_the_agent_wraps_it(
    redis_server: RedisServer, domain: Domain
):
    store = TrackerStore.create(endpoint(str(redis_server.port)), domain)

    assert type(store) is RedisSessionTrackerStore
    assert store.redis.settings.port == redis_server.port
    # Agent.__init__ always wraps the store: errors then come back as "no tracker".
    agent = Agent(domain=domain, tracker_store=store)
    assert isinstance(agent.tracker_store, FailSafeTrackerStore)
    await store.close()


def test_a_bad_value_stops_start_up_instead_of_a_fallback(domain: Domain):
    with pytest.raises(ValueError, match="port"):
        TrackerStore.create(endpoint("six"), domain)
    with pytest.raises(ValueError, match="record_expiry"):
        TrackerStore.create(endpoint(6390, record_expiry=60), domain)
    for turns in ("ten", -1, 3, True, 2.5):
        with pytest.raises(ValueError, match="window_turns"):
            TrackerStore.create(endpoint(6390, window_turns=turns), domain)
    with pytest.warns(UserWarning, match="not found"):
        fallback = TrackerStore.create(
            EndpointConfig(type="stores.tracker_store.Missing"), domain
        )
    assert isinstance(fallback, InMemoryTrackerStore)  # Rasa's trap, not ours


class CollectingBroker(EventBroker):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)


async def test_rasa_export_reads_every_session_of_every_conversation(
    store: RedisSessionTrackerStore,
):
    first = await store_sessions(store, "+14155550001", 3)
    second = await store_sessions(store, "+14155550002", 2)
    broker = CollectingBroker()

    published = await Exporter(store, broker, "endpoints.yml").publish_events()

    assert published == len(first) + len(second) == len(broker.events)


async def test_the_rasa_export_command_reads_every_session(
    store: RedisSessionTrackerStore, redis_server: RedisServer, tmp_path: Path
):
    """`rasa export` itself, with endpoints.yml naming our store and a file broker."""
    first = await store_sessions(store, "+14155550001", 3)
    second = await store_sessions(store, "+14155550002", 2)
    out = tmp_path / "events.log"
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: stores.tracker_store.RedisSessionTrackerStore\n"
        f"  url: 127.0.0.1\n  port: {redis_server.port}\n  db: {DB}\n"
        f"event_broker:\n  type: file\n  path: {out}\n"
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [str(ROOT / ".venv" / "bin" / "rasa"), "export", "--endpoints", str(endpoints)],
        cwd=ROOT,  # where `stores` imports from, as for `make run`
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(exported) == len(first) + len(second)
    by_sender = {e["sender_id"] for e in exported}
    assert by_sender == {"+14155550001", "+14155550002"}
    starts = [e for e in exported if e["event"] == "session_started"]
    assert len(starts) == 5


async def test_save_publishes_only_the_new_events(
    make_store: Callable[..., RedisSessionTrackerStore],
):
    broker = CollectingBroker()
    store = make_store()
    store.event_broker = broker
    tracker = DialogueStateTracker.from_events(CUSTOMER, session(0))
    await store.save(tracker)
    await store.save(tracker)
    assert [e["timestamp"] for e in broker.events] == [e.timestamp for e in session(0)]


async def test_redis_down_raises_instead_of_returning_none(
    make_store: Callable[..., RedisSessionTrackerStore],
):
    store = make_store(port=free_port(), socket_timeout=1)
    tracker = DialogueStateTracker.from_events(CUSTOMER, session(0))

    with pytest.raises(redis.exceptions.ConnectionError):
        await store.retrieve(CUSTOMER)
    with pytest.raises(redis.exceptions.ConnectionError):
        await store.save(tracker)
    with pytest.raises(redis.exceptions.ConnectionError):
        await store.keys()

    # What Rasa's wrapper makes of it: no tracker, and the save goes to memory.
    assert await FailSafeTrackerStore(store).retrieve(CUSTOMER) is None

    def reraise(error: Exception) -> None:
        raise error

    strict = FailSafeTrackerStore(store, on_tracker_store_error=reraise)
    with pytest.raises(redis.exceptions.ConnectionError):
        await strict.retrieve(CUSTOMER)
    with pytest.raises(redis.exceptions.ConnectionError):
        await strict.save(tracker)


# A real parse of "what are your hours" by the trained model, as Rasa stores it.
PARSE = {
    "text": "what are your hours",
    "intent": {
        "name": "faq",
        "confidence": 0.97,
        "full_retrieval_intent_name": "faq/hours",
    },
    "entities": [],
    "text_tokens": [[0, 4], [5, 8], [9, 13], [14, 19]],
    "intent_ranking": [
        {"name": name, "confidence": round(0.97 / (i + 1), 4)}
        for i, name in enumerate(
            "faq greet inform affirm deny goodbye thanks stop out_of_scope book".split()
        )
    ],
    "response_selector": {
        "all_retrieval_intents": ["faq"],
        "faq": {
            "response": {
                "responses": [{"text": "Our hours."}],
                "confidence": 0.93,
                "intent_response_key": "faq/hours",
                "utter_action": "utter_faq/hours",
            },
            "ranking": [
                {"confidence": 0.93 / (i + 1), "intent_response_key": f"faq/t{i}"}
                for i in range(8)
            ],
        },
    },
}


def faq_turn() -> list[Event]:
    return session(0, turns=0) + [
        UserUttered(
            "what are your hours",
            PARSE["intent"],
            PARSE["entities"],
            PARSE,
            timestamp=T0 + 5,
            input_channel="twilio_sms",
            message_id="SM1",
            metadata={"to": "+15017122661"},
        ),
        ActionExecuted("action_answer_faq", timestamp=T0 + 6),
    ]


async def test_a_message_is_stored_without_its_full_rankings(
    store: RedisSessionTrackerStore,
):
    tracker = DialogueStateTracker.from_events(CUSTOMER, faq_turn())
    await store.save(tracker)
    raw = await store.redis.get().lrange(store.events_key(CUSTOMER), 0, -1)
    user = next(json.loads(e) for e in raw if json.loads(e)["event"] == "user")
    parse = user["parse_data"]
    assert [i["name"] for i in parse["intent_ranking"]] == ["faq", "greet", "inform"]
    assert "text_tokens" not in parse
    assert parse["response_selector"] == {
        "all_retrieval_intents": ["faq"],
        "faq": {
            "response": {
                "intent_response_key": "faq/hours",
                "utter_action": "utter_faq/hours",
                "confidence": 0.93,
            }
        },
    }
    full = len(json.dumps(faq_turn()[-2].as_dict()))
    assert len(json.dumps(user)) < full / 2  # the rankings were most of it

    # What readers need is all there: intent, entities, the chosen FAQ topic...
    again = await store.retrieve(CUSTOMER)
    assert again is not None
    latest = again.latest_message
    assert latest is not None and latest.intent["name"] == "faq"
    assert latest.full_retrieval_intent_name == "faq/hours"
    assert latest.metadata == {"to": "+15017122661"}
    assert "metadata" not in parse and "text" not in parse  # stored once, not twice
    assert latest.parse_data["metadata"] == {"to": "+15017122661"}
    assert latest.parse_data["text"] == "what are your hours"
    assert latest.parse_data["message_id"] == "SM1"
    from actions.faq import faq_topic

    assert faq_topic(latest.parse_data) == "hours"
    # ...and saving the untrimmed in-memory tracker again adds nothing.
    unmarked = DialogueStateTracker.from_events(CUSTOMER, faq_turn())
    await store.save(unmarked)
    assert await store.redis.get().llen(store.events_key(CUSTOMER)) == len(raw)


async def test_trimming_can_be_turned_off(
    make_store: Callable[..., RedisSessionTrackerStore],
):
    store = make_store(trim_parse_data="false")
    await store.save(DialogueStateTracker.from_events(CUSTOMER, faq_turn()))
    raw = await store.redis.get().lrange(store.events_key(CUSTOMER), 0, -1)
    user = next(json.loads(e) for e in raw if json.loads(e)["event"] == "user")
    assert (
        user["parse_data"]
        == json.loads(json.dumps(faq_turn()[-2].as_dict()))["parse_data"]
    )


DAY = 86400.0


def dated_session(start: float, text: str) -> list[Event]:
    return [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start),
        ActionExecuted("action_listen", timestamp=start),
        UserUttered(text, {"name": "greet", "confidence": 1.0}, timestamp=start + 1),
        ActionExecuted("utter_greet", timestamp=start + 2),
        ActionExecuted("action_listen", timestamp=start + 2),
    ]


async def test_trim_drops_sessions_that_ended_before_the_retention(
    make_store: Callable[..., RedisSessionTrackerStore],
):
    store = make_store(retention_days=365)
    now = time.time()
    old, older_but_running, recent = now - 500 * DAY, now - 380 * DAY, now - 3 * DAY
    events = (
        dated_session(old, "first")
        + dated_session(older_but_running, "second")
        + dated_session(recent, "third")
    )
    await store.save(DialogueStateTracker.from_events(CUSTOMER, events))
    current = await store.retrieve(CUSTOMER)  # marked before the trim
    assert current is not None

    report = await store.trim(now=now)

    # "first" ended when "second" began, before the cutoff: gone. "second" ran
    # until "third" began, inside the retention: kept, as is "third".
    full = await store.retrieve_full_tracker(CUSTOMER)
    assert full is not None
    assert [e.text for e in full.events if isinstance(e, UserUttered)] == [
        "second",
        "third",
    ]
    assert (report.conversations_trimmed, report.events_removed) == (1, 6)
    assert await store.redis.get().lrange(store.sessions_key(CUSTOMER), 0, -1) == [
        "0",
        "6",
    ]
    again = await store.retrieve(CUSTOMER)
    assert again is not None
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["third"]

    # A turn that read its session before the trim still saves exactly once.
    current.update(UserUttered("fourth", {"name": "greet", "confidence": 1.0}))
    await store.save(current)
    full = await store.retrieve_full_tracker(CUSTOMER)
    assert full is not None
    texts = [e.text for e in full.events if isinstance(e, UserUttered)]
    assert texts == ["second", "third", "fourth"]


async def test_trim_deletes_a_conversation_quiet_for_the_whole_retention(
    make_store: Callable[..., RedisSessionTrackerStore],
):
    store = make_store(retention_days="30")
    await store.save(
        DialogueStateTracker.from_events(CUSTOMER, dated_session(time.time(), "hi"))
    )
    assert await store.trim(now=time.time() + 29 * DAY) == TrimReport()
    report = await store.trim(now=time.time() + 31 * DAY)
    assert report.conversations_deleted == 1
    assert not await store.exists(CUSTOMER)
    assert await store.redis.get().keys("*") == []  # nothing of it is left


async def test_retention_zero_keeps_everything(
    make_store: Callable[..., RedisSessionTrackerStore],
):
    store = make_store(retention_days=0)
    await store.save(
        DialogueStateTracker.from_events(
            CUSTOMER, dated_session(time.time() - 900 * DAY, "hi")
        )
    )
    assert await store.trim(now=time.time() + 900 * DAY) == TrimReport()
    assert await store.exists(CUSTOMER)
    with pytest.raises(ValueError, match="retention_days"):
        make_store(retention_days="-1")
