"""Every use of a private name of Rasa 3.6 or twilio 8.2, in one place.

Rasa offers no public hook for a few things the channel needs; each is one small
function here, saying what it stands in for, with a test in
tests/connectors/test_compat.py that fails loudly when the pinned version (see
requirements.lock) changes the name or its behaviour. Nothing else in the project
touches a private name of either library.
"""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

#: Where Rasa 3.6 logs an action or policy failure that it then swallows (the turn
#: ends with no events): connectors/turn_errors.py watches this logger.
PROCESSOR_LOGGER = "rasa.core.processor"


def unwrap_tracker_store(store: TrackerStore | None) -> TrackerStore | None:
    """The configured store out of the FailSafeTrackerStore that Rasa's Agent wraps
    around every tracker store (FailSafeTrackerStore._tracker_store)."""
    if isinstance(store, FailSafeTrackerStore):
        return store._tracker_store
    return store


def _reraise(error: Exception) -> None:
    raise error


def raise_tracker_store_errors(store: TrackerStore | None) -> None:
    """Let tracker store errors through instead of a blank conversation.

    On a Redis error FailSafeTrackerStore returns no tracker (the customer is
    greeted as a stranger) or saves to process memory. Its error hook
    (`_on_tracker_store_error`, a constructor argument Rasa never passes) runs
    inside its `except`, so re-raising there makes the wrapper transparent; the
    caller then keeps the text and tries again.
    """
    if isinstance(store, FailSafeTrackerStore):
        store._on_tracker_store_error = _reraise


def session_expired(processor: MessageProcessor, tracker: DialogueStateTracker) -> bool:
    """Rasa's own rule (MessageProcessor._has_session_expired): will the next
    message start a new session by itself?"""
    return bool(processor._has_session_expired(tracker))


def max_event_history(tracker: DialogueStateTracker) -> int | None:
    """The tracker's event cap (DialogueStateTracker._max_event_history): a capped
    tracker drops old events, so event counts cannot be compared."""
    return tracker._max_event_history


def agent_of(app: Any) -> Any:
    """The Agent Rasa's server keeps on the Sanic app (`app.ctx.agent`), or None."""
    return getattr(getattr(app, "ctx", None), "agent", None)


def check_action_responses_with_one_validator() -> None:
    """Check each action server response against Rasa's schema with one validator
    built once, instead of `jsonschema.validate` per response.

    RemoteAction._validate_action_result calls `jsonschema.validate(result,
    schema)`, which first checks the (large) events schema itself against
    JSON Schema's metaschema, every time: 56 ms of CPU per action call on this
    machine against 1.1 ms for the same check with a validator built once, and
    about 40 % of a Rasa process's CPU under load (bench/RESULTS.md, "Where a
    turn's CPU goes"). The schema is Rasa's own and constant, so it is checked
    once here. A response that fails goes through Rasa's own method, so the
    error a bot author sees is Rasa's, word for word. Idempotent.
    """
    original = RemoteAction._validate_action_result
    if getattr(original, "one_validator", False):
        return
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def validate(self: RemoteAction, result: dict[str, Any]) -> bool:
        if best_match(validator.iter_errors(result)) is None:
            return True
        return bool(original(self, result))  # raises Rasa's ValidationError

    validate.one_validator = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = validate


def resolve_event_types_from_a_table() -> None:
    """Find an event's class by its type name in a table, not a class-tree walk.

    Event.resolve_by_type walks every subclass of Event (about 30, recursively)
    for each event it deserialises: 200 µs an event on this machine, so about a
    fifth of a turn went to replaying a session's events (bench/RESULTS.md,
    "Tracker growth"). A name found once maps to the same class for the life of
    the process; a name not found (an unknown type, or a class defined later)
    still goes through Rasa's own walk and error. Idempotent.
    """
    original = Event.resolve_by_type
    if getattr(original, "from_a_table", False):
        return
    table: dict[str, type[Event]] = {}

    def resolve(
        type_name: str, default: type[Event] | None = None
    ) -> type[Event] | None:
        found = table.get(type_name)
        if found is None:
            found = original(type_name, default)
            if found is not None and found.type_name == type_name:
                table[type_name] = found
        return found

    resolve.from_a_table = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve)
