"""Sessions started, contacts matched and hand-offs are counted by the tracker
store as it appends them: once, however often a tracker is saved."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rasa.shared.core.constants import SESSION_START_METADATA_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationPaused,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from redis.asyncio import Redis

from analytics.counters import Counters
from analytics.report import AnalyticsReport
from analytics.settings import AnalyticsSettings
from analytics.tracker_events import counts_for
from stores.tracker_store import RedisSessionTrackerStore
from tools.harness.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
LINE, ANN = "+15017122661", "+14155552671"
SMS = {"channel_type": "sms", "to": LINE, "from": ANN}


def opening(metadata: dict) -> list:
    return [
        ActionExecuted("action_session_start"),
        SlotSet(SESSION_START_METADATA_SLOT, metadata),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("hi", metadata=metadata),
    ]


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (SMS, (LINE, {"sessions": 1})),
        (
            {**SMS, "contact": {"name": "Ann Lee", "tags": []}},
            (LINE, {"sessions": 1, "contacts_matched": 1}),
        ),
        (
            {**SMS, "messaging_service_sid": "MG" + "a" * 32},
            ("MG" + "a" * 32, {"sessions": 1}),
        ),
        ({"channel_type": "rest"}, (None, {"sessions": 1})),  # not an SMS chat
    ],
)
def test_what_a_session_start_counts(metadata: dict, expected: tuple) -> None:
    events = opening(metadata)
    tracker = DialogueStateTracker.from_events(ANN, events)
    assert counts_for(tracker, events) == expected


def test_a_hand_off_later_in_the_session_counts_for_the_line_texted() -> None:
    tracker = DialogueStateTracker.from_events(ANN, opening(SMS))
    later = [ActionExecuted("action_handoff"), ConversationPaused()]
    assert counts_for(tracker, later) == (LINE, {"handoffs": 1})


async def test_saving_again_tells_the_listener_nothing_more(
    redis_server: RedisServer, redis: Redis
) -> None:
    domain = Domain.load(ROOT / "domain.yml")
    store = RedisSessionTrackerStore(domain, host="127.0.0.1", port=redis_server.port)
    await store.redis.get().flushdb()
    counters = Counters(store.redis.get(), ZoneInfo("UTC"), 30)

    async def count(tracker: DialogueStateTracker, new_events: list) -> None:
        line, counts = counts_for(tracker, new_events)
        if line:
            await counters.add(line, counts)

    store.on_append.append(count)
    try:
        tracker = DialogueStateTracker(ANN, domain.slots)
        tracker.update_with_events(opening(SMS), domain)
        await store.save(tracker)
        await store.save(tracker)  # nothing new
        again = await store.retrieve(ANN)
        assert again is not None
        again.update_with_events(
            [ActionExecuted("action_handoff"), ConversationPaused()], domain
        )
        await store.save(again)
        await store.save(again)
        settings = AnalyticsSettings(time_zone=ZoneInfo("UTC"))
        totals = (await AnalyticsReport(store.redis.get(), settings).summary(7))[
            "totals"
        ]
        assert (totals["sessions"], totals["handoffs"]) == (1, 1)
    finally:
        await store.redis.get().flushdb()
        await store.close()
