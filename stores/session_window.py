"""A long session handed to Rasa as its opening, a state snapshot and its last turns.

Rasa replays every event of a session on each turn and then featurises every state
of it (`past_states`), although the policies look only at the last few (max_history
5) and the rules (at most 4 steps here) at fewer. So a turn late in a 200-turn
session cost 3× the first ones (bench/RESULTS.md, "Tracker growth"). A tracker built
from

    the session's opening (up to its first user turn)
    + one event per slot, pause and loop value the skipped middle changed
    + the last `keep_turns` user turns, from the `action_listen` before the first

has the same slots, pause, active loop and latest message as the whole session and
the same last states, so the policies predict the same (tests/stores/
test_session_window.py compares both on generated sessions). The cut is only made
where no form is running: Rasa folds a form's happy path back to the form's first
run (`DialogueStateTracker.applied_events`), which a cut inside it would change. So
a form still running keeps its whole run in the window.

The middle is never turned into Rasa events except the small state events (slot,
loop, pause); customer and bot texts are skipped by their type alone. A session
with events that rewrite history (restart, rewind, undo) is replayed whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    ConversationResumed,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker

#: How stored events begin (`json.dumps(event.as_dict())`: "event" is the first key).
_TYPE = re.compile(r'\{"event": "([a-z_]+)"')
#: Texts: the bulk of a session's bytes and of no use to the snapshot.
_SKIPPED = frozenset({"user", "bot", "user_featurization"})
#: History rewritten, or a second session start: the whole session is replayed.
_UNSAFE = frozenset({"restart", "rewind", "undo", "session_started"})
#: The policies' max_history (5) and the state before them.
MIN_STATES = 6
#: Cuts tried, latest first, before replaying the whole session instead.
CUT_ATTEMPTS = 3
#: Marks the snapshot's events for whoever reads a tracker (actions, the API).
SNAPSHOT_METADATA = {"session_window": "snapshot"}


def event_type(raw: str) -> str | None:
    """The stored event's type, read from its first characters when possible."""
    match = _TYPE.match(raw)
    if match:
        return match.group(1)
    return json.loads(raw).get("event")


def windowed_tracker(
    sender_id: str, raw: list[str], slots: Iterable[Slot], keep_turns: int
) -> DialogueStateTracker | None:
    """The session as a window (see the module docstring), or None when the whole
    session should be replayed: short, `keep_turns` 0, or no safe place to cut."""
    if keep_turns <= 0:
        return None
    types = [event_type(event) for event in raw]
    users = [i for i, kind in enumerate(types) if kind == "user"]
    if len(users) <= keep_turns + 1:
        return None
    if any(kind in _UNSAFE for kind in types[users[0] :]):
        return None
    parsed = [
        None if kind in _SKIPPED else json.loads(event)
        for kind, event in zip(types, raw, strict=True)
    ]
    slots = list(slots)
    cuts = _cuts(parsed, users[1 : len(users) - keep_turns + 1])
    for cut in cuts[:CUT_ATTEMPTS]:
        events = _window(raw, parsed, users[0], cut, slots)
        tracker = DialogueStateTracker.from_dict(sender_id, events, slots)
        if _states_after_first_user(tracker) >= MIN_STATES:
            return tracker
    return None


def _cuts(parsed: list[dict[str, Any] | None], users: list[int]) -> list[int]:
    """Where the tail may begin, latest first: an `action_listen` right before a
    user turn, with no form running (the last loop event before it is a
    deactivation, or there is none)."""
    loops = {
        e["name"] for e in parsed if e and e["event"] == "active_loop" and e["name"]
    }
    form_running = False
    running_at: list[bool] = []
    for event in parsed:
        running_at.append(form_running)
        if event is None:
            continue
        if event["event"] == "active_loop":
            form_running = bool(event.get("name"))
        elif event["event"] == "action" and event.get("name") in loops:
            form_running = True
    cuts = []
    for user in reversed(users):
        listen = parsed[user - 1]
        if (
            listen
            and listen["event"] == "action"
            and listen.get("name") == ACTION_LISTEN_NAME
            and not running_at[user - 1]
        ):
            cuts.append(user - 1)
    return cuts


def _window(
    raw: list[str],
    parsed: list[dict[str, Any] | None],
    first_user: int,
    cut: int,
    slots: list[Slot],
) -> list[dict[str, Any]]:
    opening = [e for e in parsed[:first_user] if e is not None]
    if len(opening) != first_user:  # a text before the first user turn: keep it
        opening = [json.loads(e) for e in raw[:first_user]]
    middle = [e for e in parsed[first_user:cut] if e is not None]
    tail = [
        e if e is not None else json.loads(raw[cut + i])
        for i, e in enumerate(parsed[cut:])
    ]
    return opening + _snapshot(opening, middle, slots, tail[0]["timestamp"]) + tail


def _snapshot(
    opening: list[dict[str, Any]],
    middle: list[dict[str, Any]],
    slots: list[Slot],
    timestamp: float,
) -> list[dict[str, Any]]:
    """Events that take the opening's state to the state after the middle."""
    before = DialogueStateTracker.from_dict("window", opening, slots)
    after = DialogueStateTracker.from_dict("window", opening + middle, slots)
    events: list[Event] = [
        SlotSet(name, slot.value)
        for name, slot in after.slots.items()
        if slot.value != before.slots[name].value
    ]
    # Rasa treats an action as a form only if the session activated a form of
    # that name (`applied_events`): name each one, closed again.
    for name in dict.fromkeys(
        e["name"] for e in middle if e["event"] == "active_loop" and e.get("name")
    ):
        events += [ActiveLoop(name), ActiveLoop(None)]
    if after.active_loop_name != before.active_loop_name:
        events.append(ActiveLoop(after.active_loop_name))
    if after.is_paused() != before.is_paused():
        events.append(
            ConversationPaused() if after.is_paused() else ConversationResumed()
        )
    out = []
    for event in events:
        data = event.as_dict()
        data["timestamp"] = timestamp
        data["metadata"] = dict(SNAPSHOT_METADATA)
        out.append(data)
    return out


def _states_after_first_user(tracker: DialogueStateTracker) -> int:
    """How many states the policies can see from the tail alone (Rasa folds a
    form's happy path into one, so turns are not states)."""
    applied = tracker.applied_events()
    first = next(i for i, e in enumerate(applied) if isinstance(e, UserUttered))
    return 1 + sum(isinstance(e, ActionExecuted) for e in applied[first:])
