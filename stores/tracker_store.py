"""RedisSessionTrackerStore: append-only events, and a turn reads only its session.

Rasa's RedisTrackerStore keeps one JSON blob per sender and reads, merges and rewrites
all of it every turn, so a phone number's turn gets slower with every session it ever
had. Here each conversation is a Redis list of events plus a list of the positions
where sessions begin; a turn reads from the latest start to the end and appends only
what it added. Key layout and Rasa's callers: docs/stores.md.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker
from redis.asyncio import Redis

import redisio
from redisio import Connection, RedisSettings, scripts
from redisio import keys as redis_keys
from redisio.atomic import atomic
from redisio.settings import seconds, to_bool
from stores.event_trim import trimmed
from stores.session_window import windowed_tracker

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "tracker"
READ_CHUNK = 1000  # events per LRANGE when reading a whole history
SAVE_ATTEMPTS = 3
# Set on trackers this store hands out or saves: (events stored in Redis, how many
# of the tracker's own events those include). Lets `save` skip a read.
STORED_MARK = "_redis_session_store_stored"
_KEY_PREFIX = re.compile(r"[A-Za-z0-9_.:-]+")


AppendListener = Callable[[DialogueStateTracker, list[Event]], Awaitable[None]]


class TrackerStoreConflictError(RuntimeError):
    """The stored events kept changing under `save`: another writer without the lock."""


def starts_session(event: Event) -> bool:
    """Rasa's own session boundary (`get_trackers_for_conversation_sessions`)."""
    return (
        isinstance(event, ActionExecuted)
        and event.action_name == ACTION_SESSION_START_NAME
    )


def _stored(event: Event, trim: bool) -> str:
    """The JSON an event is stored as (its parse trimmed: stores/event_trim.py)."""
    data = event.as_dict()
    return json.dumps(trimmed(data) if trim else data)


DEFAULT_RETENTION_DAYS = 365.0
DEFAULT_WINDOW_TURNS = 10
#: max_history 5 is 5 states: about 3 user turns. Below this, rules could miss.
MIN_WINDOW_TURNS = 5


def _days(key: str, value: Any) -> float:
    """A number of days from endpoints.yml; 0 means keep everything."""
    try:
        days = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: expected a number of days, got {value!r}") from None
    if days < 0:
        raise ValueError(f"{key}: expected 0 (keep all) or more days, got {value!r}")
    return days


def _turns(key: str, value: Any) -> int:
    """A whole number of turns from endpoints.yml; 0 switches the window off."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{key}: expected a whole number of turns, got {value!r}")
    try:
        turns = int(value)
    except ValueError:
        raise ValueError(
            f"{key}: expected a whole number of turns, got {value!r}"
        ) from None
    if turns < 0 or (0 < turns < MIN_WINDOW_TURNS):
        raise ValueError(
            f"{key}: expected 0 (off) or at least {MIN_WINDOW_TURNS} turns, "
            f"got {value!r}: fewer would hide what the policies and rules look at"
        )
    return turns


@dataclass
class TrimReport:
    conversations_deleted: int = 0
    conversations_trimmed: int = 0
    events_removed: int = 0


class RedisSessionTrackerStore(TrackerStore):
    """Tracker store for `endpoints.yml`: `type: stores.tracker_store.RedisSessionTrackerStore`.

    Takes the keys of Rasa's `type: redis` store, plus `socket_timeout`. Redis errors
    propagate: a turn must fail rather than silently start over without its history.
    """

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = "localhost",
        event_broker: EventBroker | None = None,
        record_exp: Any = None,
        key_prefix: str | None = None,
        trim_parse_data: Any = True,
        retention_days: Any = DEFAULT_RETENTION_DAYS,
        window_turns: Any = DEFAULT_WINDOW_TURNS,
        **kwargs: Any,
    ) -> None:
        """Connection keys as `RedisSettings.from_endpoint` (Rasa's, + socket_timeout).

        `trim_parse_data` (default true) stores a message's parse without the
        full intent and response rankings (stores/event_trim.py). `retention_days`
        (default 365, 0 keeps everything) is what `trim` keeps. `window_turns`
        (default 10, 0 replays whole sessions) is how many last user turns a long
        session is handed to Rasa with (stores/session_window.py). An unknown or
        malformed key stops start-up: a typo must not run a server.
        """
        prefix = DEFAULT_KEY_PREFIX if key_prefix is None else str(key_prefix)
        if not _KEY_PREFIX.fullmatch(prefix):
            raise ValueError(
                f"key_prefix: letters, digits and _ . : - only, got {key_prefix!r}"
            )
        self.key_prefix = prefix
        self.record_exp = seconds("record_exp", record_exp)
        self.trim_parse_data = to_bool("trim_parse_data", trim_parse_data)
        self.retention_days = _days("retention_days", retention_days)
        self.window_turns = _turns("window_turns", window_turns)
        try:
            settings = RedisSettings.from_endpoint(host=host, **kwargs)
        except TypeError as error:  # an unknown key
            raise ValueError(f"tracker_store: {error}") from None
        self.redis = Connection(settings)
        #: Called once with each batch of events as it is appended (the SMS
        #: channel counts sessions and hand-offs from them); never raises here.
        self.on_append: list[AppendListener] = []
        super().__init__(domain, event_broker)

    # Keys: every key of one conversation shares the hash tag {sender_id}.
    def events_key(self, sender_id: str) -> str:
        return redis_keys.tracker_events(self.key_prefix, sender_id)

    def sessions_key(self, sender_id: str) -> str:
        return redis_keys.tracker_sessions(self.key_prefix, sender_id)

    @property
    def index_key(self) -> str:
        return redis_keys.tracker_index(self.key_prefix)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the events Redis does not have yet; stored events are never rewritten.

        Which events are new: a tracker from `retrieve`/`save` carries a mark (how many
        events Redis held, how many of them are this tracker's); any other tracker is
        matched against the last stored event. The append checks the stored count
        atomically, so a stale mark or a second save cannot duplicate events.
        """
        client = self.redis.get()
        plan = self._plan_from_mark(tracker)
        for _ in range(SAVE_ATTEMPTS):
            if plan is None:
                plan = await self._plan_from_tail(client, tracker)
            stored, new_events = plan
            if not new_events:
                self._mark(tracker, stored)
                return
            appended, length = await self._append(
                client, tracker.sender_id, stored, new_events
            )
            if appended:
                self._mark(tracker, length)
                await self._tell_listeners(tracker, new_events)
                if self.event_broker:
                    await self._stream_new_events(
                        self.event_broker, new_events, tracker.sender_id
                    )
                return
            plan = None
        raise TrackerStoreConflictError(
            f"events of {tracker.sender_id!r} changed during {SAVE_ATTEMPTS} saves"
        )

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """Only the latest session: one LINDEX and one LRANGE, whatever the history.

        A long session comes as a window (stores/session_window.py): its opening,
        the state the middle left, and the last `window_turns` user turns.
        """
        start, raw = await scripts.TRACKER_CURRENT_SESSION(
            self.redis.get(), [self.events_key(sender_id), self.sessions_key(sender_id)]
        )
        if not raw:
            return None
        tracker = None
        if self.max_event_history is None:
            tracker = windowed_tracker(
                sender_id, raw, self.domain.slots, self.window_turns
            )
        if tracker is None:
            tracker = self._tracker(sender_id, raw)
        self._mark(tracker, int(start) + len(raw))
        return tracker

    async def retrieve_full_tracker(
        self, conversation_id: str
    ) -> DialogueStateTracker | None:
        """Every session, for GET /conversations/<id>/tracker and `rasa export`.

        Read in chunks in one round trip, so no single command holds Redis for long.
        """
        client = self.redis.get()
        key = self.events_key(conversation_id)
        length = await client.llen(key)
        if not length:
            return None
        pipe = client.pipeline(transaction=False)
        for first in range(0, length, READ_CHUNK):
            pipe.lrange(key, first, min(first + READ_CHUNK, length) - 1)
        raw = [event for chunk in await pipe.execute() for event in chunk]
        tracker = self._tracker(conversation_id, raw)
        self._mark(tracker, len(raw))
        return tracker

    async def exists(self, conversation_id: str) -> bool:
        """EXISTS on the events list, without reading any event."""
        return bool(await self.redis.get().exists(self.events_key(conversation_id)))

    async def keys(self) -> Iterable[str]:
        """Every conversation id, by ZSCAN (never KEYS, which blocks Redis).

        With `record_exp`, ids whose events have expired are dropped first.
        """
        client = self.redis.get()
        if self.record_exp:
            await client.zremrangebyscore(
                self.index_key, "-inf", f"({time.time() - self.record_exp}"
            )
        return [
            member async for member, _ in client.zscan_iter(self.index_key, count=1000)
        ]

    async def trim(self, now: float | None = None, batch: int = 500) -> TrimReport:
        """Apply `retention_days`: forget what happened before it, session by session.

        A conversation with no save since the cutoff is deleted whole; any other
        loses the sessions that ended before it (one Lua call each, so a turn never
        sees half a trim). Run periodically (connectors/housekeeping.py).
        """
        report = TrimReport()
        if not self.retention_days:
            return report
        cutoff = (time.time() if now is None else now) - self.retention_days * 86400
        client = self.redis.get()
        while True:
            gone = await client.zrangebyscore(
                self.index_key, "-inf", f"({cutoff}", start=0, num=batch
            )
            if not gone:
                break
            pipe = client.pipeline(transaction=False)
            for sender_id in gone:
                pipe.delete(self.events_key(sender_id), self.sessions_key(sender_id))
            pipe.zrem(self.index_key, *gone)
            await pipe.execute()
            report.conversations_deleted += len(gone)
        async for sender_id, _ in client.zscan_iter(self.index_key, count=batch):
            removed = int(
                await scripts.TRACKER_TRIM_SESSIONS(
                    client,
                    [self.events_key(sender_id), self.sessions_key(sender_id)],
                    [cutoff],
                )
            )
            if removed:
                report.conversations_trimmed += 1
                report.events_removed += removed
        return report

    async def close(self) -> None:
        """End of a test or tool: close this loop's Redis clients, which redisio
        owns and other parts may share (Rasa never closes a tracker store)."""
        await redisio.close_all()

    def _tracker(self, sender_id: str, raw: list[str]) -> DialogueStateTracker:
        """Replay the events: slots come from them, nothing else is stored."""
        return DialogueStateTracker.from_dict(
            sender_id,
            [json.loads(event) for event in raw],
            self.domain.slots,
            self.max_event_history,
        )

    @staticmethod
    def _mark(tracker: DialogueStateTracker, stored: int) -> None:
        setattr(tracker, STORED_MARK, (stored, len(tracker.events)))

    @staticmethod
    def _plan_from_mark(
        tracker: DialogueStateTracker,
    ) -> tuple[int, list[Event]] | None:
        """The new events by count, if the tracker carries a usable mark.

        A capped tracker (`max_event_history`) drops old events, so counts mean nothing.
        """
        mark = getattr(tracker, STORED_MARK, None)
        if mark is None or getattr(tracker.events, "maxlen", None) is not None:
            return None
        stored, known = mark
        events = list(tracker.events)
        if known > len(events):
            return None
        return stored, events[known:]

    async def _plan_from_tail(
        self, client: Redis, tracker: DialogueStateTracker
    ) -> tuple[int, list[Event]]:
        """The new events are those after the last stored one; all if it is absent.

        Reads one event, not the session. A tracker that shares nothing with the
        stored history (e.g. PUT /conversations/<id>/tracker/events) is appended whole.
        """
        key = self.events_key(tracker.sender_id)
        stored, tail = await atomic(client, ("LLEN", key), ("LINDEX", key, -1))
        events = list(tracker.events)
        if tail is None:
            return 0, events
        last = json.loads(tail)
        for index in range(len(events) - 1, -1, -1):
            if json.loads(_stored(events[index], self.trim_parse_data)) == last:
                return stored, events[index + 1 :]
        return stored, events

    async def _tell_listeners(
        self, tracker: DialogueStateTracker, new_events: list[Event]
    ) -> None:
        for listener in self.on_append:
            try:
                await listener(tracker, new_events)
            except Exception as err:  # noqa: BLE001 - the events are stored
                logger.warning("tracker store listener failed: %s", type(err).__name__)

    async def _append(
        self, client: Redis, sender_id: str, stored: int, new_events: list[Event]
    ) -> tuple[bool, int]:
        """One Lua call: events and session starts together, only if `stored` holds.

        The id goes into the index first: an id listed without events is skipped by
        `rasa export`, events without a listed id would be invisible to it.
        """
        starts = [i for i, event in enumerate(new_events) if starts_session(event)]
        ttl_ms = int(self.record_exp * 1000) if self.record_exp else 0
        await client.zadd(self.index_key, {sender_id: time.time()})
        appended, length = await scripts.TRACKER_APPEND_EVENTS(
            client,
            [self.events_key(sender_id), self.sessions_key(sender_id)],
            [
                stored,
                ttl_ms,
                len(starts),
                *starts,
                *(_stored(event, self.trim_parse_data) for event in new_events),
            ],
        )
        return bool(appended), int(length)
