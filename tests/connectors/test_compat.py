"""Each private name of Rasa that connectors/compat.py uses, checked against the
installed (pinned) version: an upgrade that renames or changes one fails here, by
name, instead of in a conversation."""

from __future__ import annotations

import inspect
import logging
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors import compat, turn_errors

DOMAIN = Domain.load(Path(__file__).resolve().parents[2] / "domain.yml")


class BrokenStore(InMemoryTrackerStore):
    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        raise ConnectionError("redis is down")

    async def save(self, tracker: DialogueStateTracker) -> None:
        raise ConnectionError("redis is down")


def test_unwrap_finds_the_store_inside_rasas_failsafe_wrapper() -> None:
    inner = InMemoryTrackerStore(DOMAIN)
    assert compat.unwrap_tracker_store(FailSafeTrackerStore(inner)) is inner
    assert compat.unwrap_tracker_store(inner) is inner
    assert compat.unwrap_tracker_store(None) is None


async def test_failsafe_falls_back_silently_unless_told_to_raise() -> None:
    wrapped = FailSafeTrackerStore(BrokenStore(DOMAIN))
    assert await wrapped.retrieve("+14155552671") is None  # Rasa's silent fallback
    compat.raise_tracker_store_errors(wrapped)
    with pytest.raises(ConnectionError):
        await wrapped.retrieve("+14155552671")
    with pytest.raises(ConnectionError):
        await wrapped.save(DialogueStateTracker("+14155552671", DOMAIN.slots))


def test_session_expiry_is_rasas_own_rule() -> None:
    assert list(
        inspect.signature(MessageProcessor._has_session_expired).parameters
    ) == [
        "self",
        "tracker",
    ]
    processor = SimpleNamespace(domain=DOMAIN)
    minutes = DOMAIN.session_config.session_expiration_time
    assert minutes > 0
    recent = UserUttered("hi", timestamp=time.time() - 60)
    old = UserUttered("hi", timestamp=time.time() - (minutes + 1) * 60)
    fresh = DialogueStateTracker.from_events("a", [recent], DOMAIN.slots)
    stale = DialogueStateTracker.from_events("b", [old], DOMAIN.slots)
    empty = DialogueStateTracker("c", DOMAIN.slots)
    call = MessageProcessor._has_session_expired
    processor._has_session_expired = lambda tracker: call(processor, tracker)
    assert compat.session_expired(processor, fresh) is False  # type: ignore[arg-type]
    assert compat.session_expired(processor, stale) is True  # type: ignore[arg-type]
    assert compat.session_expired(processor, empty) is False  # type: ignore[arg-type]


def test_max_event_history_is_the_trackers_cap() -> None:
    capped = DialogueStateTracker("a", DOMAIN.slots, max_event_history=5)
    assert compat.max_event_history(capped) == 5
    assert capped.events.maxlen == 5  # what the tracker store reads (public)
    assert compat.max_event_history(DialogueStateTracker("b", DOMAIN.slots)) is None


def test_rasa_logs_a_swallowed_action_failure_where_turn_errors_watches() -> None:
    """Rasa 3.6 logs a failed action with logger.exception (level ERROR) in the
    processor module, drops its events and carries on: turn_errors notices the
    failed turn only through that logger."""
    import rasa.core.processor as processor_module

    assert processor_module.logger.name == compat.PROCESSOR_LOGGER
    source = inspect.getsource(MessageProcessor._run_action)
    assert "except Exception:\n            logger.exception(" in source
    assert "the actions events are lost" in source
    turn_errors.install()
    with turn_errors.watching() as errors:
        logging.getLogger(compat.PROCESSOR_LOGGER).error("action failed")
    assert [r.getMessage() for r in errors] == ["action failed"]


RESPONSES_THAT_FAIL = [
    {"events": [{"event": "slot", "name": 3}]},  # a slot name that is not a string
    {"events": [{"value": "x"}]},  # an event without its type
    {"responses": "not a list"},
    [],
]


def test_action_responses_are_checked_once_built_with_rasas_own_errors() -> None:
    """The cached validator accepts what Rasa's check accepts and hands anything
    else to Rasa's own method, so a bot author still reads Rasa's error."""
    from jsonschema import ValidationError, validate
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    action = RemoteAction("action_answer_faq", None)
    good = {
        "events": [{"event": "slot", "timestamp": None, "name": "s", "value": 1}],
        "responses": [{"text": "We're open Mon-Fri 8am-6pm."}],
    }
    compat.check_action_responses_with_one_validator()
    compat.check_action_responses_with_one_validator()  # a second call changes nothing
    assert action._validate_action_result(good) is True
    for bad in RESPONSES_THAT_FAIL:
        with pytest.raises(ValidationError):
            validate(bad, schema)  # jsonschema's own check refuses it too
        with pytest.raises(ValidationError, match="Failed to validate Action server"):
            action._validate_action_result(bad)


def test_event_types_come_from_a_table_with_rasas_answers() -> None:
    """Same class for every known type name as Rasa's walk, Rasa's default and
    error for an unknown one, and the walk done once per name."""
    from rasa.shared.core.events import Event, SlotSet, UserUttered, deserialise_events
    from rasa.shared.utils import common

    names = {cls.type_name: cls for cls in common.all_subclasses(Event)}
    rasas = {name: Event.resolve_by_type(name) for name in names}
    compat.resolve_event_types_from_a_table()
    compat.resolve_event_types_from_a_table()  # a second call changes nothing
    assert {name: Event.resolve_by_type(name) for name in names} == rasas
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")
    events = deserialise_events([{"event": "user", "text": "hi", "parse_data": {}}])
    assert isinstance(events[0], UserUttered) and events[0].text == "hi"

    walks = 0
    walk = common.all_subclasses

    def counted(cls: type) -> list[type]:
        nonlocal walks
        walks += 1
        return walk(cls)

    common.all_subclasses = counted
    try:
        deserialise_events([{"event": "user", "text": "hi", "parse_data": {}}] * 50)
    finally:
        common.all_subclasses = walk
    assert walks == 0
