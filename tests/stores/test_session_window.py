"""A windowed session predicts like the whole one: same state, same last states.

Sessions are drawn by hypothesis from turn shapes Rasa writes for this bot (FAQ
answers, the booking form with digressions and rejections, a hand-off pause, a
resume, a slot reset), then compared whole against windowed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    LoopInterrupted,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from stores.session_window import windowed_tracker

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(ROOT / "domain.yml")
SERVICES = ("cleaning", "whitening", "checkup")


def user(intent: str, text: str, entities: list[dict[str, Any]] | None = None):
    return UserUttered(
        text,
        intent={"name": intent, "confidence": 0.9},
        entities=entities or [],
        parse_data={"intent": {"name": intent, "confidence": 0.9}, "text": text},
    )


def listen() -> Event:
    return ActionExecuted("action_listen")


def faq(n: int) -> list[Event]:
    return [
        user("faq", f"question {n}"),
        ActionExecuted("action_answer_faq"),
        BotUttered(f"answer {n}"),
        listen(),
    ]


def start_booking(n: int) -> list[Event]:
    return [
        user("book_appointment", "book me in"),
        ActionExecuted("booking_form"),
        ActiveLoop("booking_form"),
        SlotSet("requested_slot", "service"),
        ActionExecuted("action_ask_service"),
        BotUttered("Which service?"),
        listen(),
    ]


def fill(n: int) -> list[Event]:
    service = SERVICES[n % len(SERVICES)]
    return [
        user("inform", service, [{"entity": "service", "value": service}]),
        ActionExecuted("action_extract_slots"),
        SlotSet("service", service),
        ActionExecuted("booking_form"),
        SlotSet("requested_slot", "appointment_time"),
        ActionExecuted("action_ask_appointment_time"),
        BotUttered("When?"),
        listen(),
    ]


def digress(n: int) -> list[Event]:
    return [
        user("faq", f"wait, question {n}"),
        ActionExecuted("action_extract_slots"),
        ActionExecuted("booking_form"),
        ActionExecutionRejected("booking_form"),
        ActionExecuted("action_answer_faq"),
        BotUttered(f"answer {n}"),
        ActionExecuted("booking_form"),
        LoopInterrupted(True),
        ActionExecuted("action_ask_appointment_time"),
        BotUttered("Back to your booking: when?"),
        listen(),
    ]


def finish(n: int) -> list[Event]:
    return [
        user("affirm", "yes"),
        ActionExecuted("booking_form"),
        SlotSet("booking_confirmed", True),
        SlotSet("requested_slot", None),
        ActiveLoop(None),
        ActionExecuted("action_book_appointment"),
        BotUttered("Booked."),
        SlotSet("appointment_time", f"2026-12-{10 + n % 10}T09:00:00"),
        listen(),
    ]


def handoff(n: int) -> list[Event]:
    return [
        user("request_human", "a person please"),
        ActionExecuted("action_handoff"),
        BotUttered("A team member will text you."),
        ConversationPaused(),
        listen(),
    ]


def resume(n: int) -> list[Event]:
    return [ConversationResumed(), *faq(n)]


def reset(n: int) -> list[Event]:
    return [user("stop", "never mind"), AllSlotsReset(), *faq(n)[1:]]


TURNS = (faq, start_booking, fill, digress, finish, handoff, resume, reset)


def opening() -> list[Event]:
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        SlotSet("customer_name", "Sam"),
        SlotSet("channel_type", "twilio_sms"),
        listen(),
    ]


def stored(events: list[Event]) -> list[str]:
    """As the tracker store keeps them; timestamps one second apart."""
    out = []
    for second, event in enumerate(events):
        event.timestamp = 1_700_000_000.0 + second
        out.append(json.dumps(event.as_dict()))
    return out


def tracker(events: list[dict[str, Any]]) -> DialogueStateTracker:
    return DialogueStateTracker.from_dict("+14155552671", events, DOMAIN.slots)


def loop_state(t: DialogueStateTracker) -> tuple[Any, ...]:
    loop = t.active_loop
    return (t.active_loop_name, loop and loop.is_interrupted, loop and loop.rejected)


def windowed(raw: list[str], keep_turns: int) -> DialogueStateTracker | None:
    return windowed_tracker("+14155552671", raw, DOMAIN.slots, keep_turns)


def assert_same_prediction_input(raw: list[str], keep_turns: int) -> None:
    part = windowed(raw, keep_turns)
    assert part is not None
    window = [e.as_dict() for e in part.events]
    whole = tracker([json.loads(e) for e in raw])
    assert part.current_slot_values() == whole.current_slot_values()
    assert loop_state(part) == loop_state(whole)
    assert part.is_paused() == whole.is_paused()
    assert part.latest_action == whole.latest_action
    assert part.latest_message.as_dict() == whole.latest_message.as_dict()
    # The opening and at least the last keep_turns turns are kept event for event.
    whole_events = [json.loads(e) for e in raw]
    assert window[:5] == whole_events[:5]
    users = [i for i, e in enumerate(whole_events) if e["event"] == "user"]
    kept = whole_events[users[-keep_turns] - 1 :]
    assert window[-len(kept) :] == kept
    # States from the second kept turn on are the whole session's, one for one.
    users = [i for i, e in enumerate(window) if e["event"] == "user"]
    before = tracker(window[: users[1]]).past_states(DOMAIN)
    states = part.past_states(DOMAIN)
    whole_states = whole.past_states(DOMAIN)
    compared = len(states) - len(before)
    assert states[-compared:] == whole_states[-compared:]
    # The policies' max_history (5) and the state before them, whatever Rasa
    # merges (a form's repeated turns can become one state in both).
    assert states[-6:] == whole_states[-6:]


@settings(max_examples=80, deadline=None)
@given(
    turns=st.lists(st.sampled_from(TURNS), min_size=12, max_size=60),
    keep_turns=st.integers(min_value=5, max_value=10),
)
def test_a_window_has_the_whole_sessions_state_and_last_states(turns, keep_turns):
    events = opening()
    for n, turn in enumerate(turns):
        events.extend(turn(n))
    raw = stored(events)
    if windowed(raw, keep_turns) is not None:
        assert_same_prediction_input(raw, keep_turns)


def test_a_finished_booking_and_a_pause_are_carried_into_the_window():
    events = opening() + start_booking(0) + fill(1)
    for n in range(3):
        events += digress(n)
    events += finish(4) + handoff(5) + resume(6)
    for n in range(12):
        events += faq(n)
    raw = stored(events)
    assert_same_prediction_input(raw, 5)
    part = windowed(raw, 5)
    assert part is not None and len(part.events) < len(raw) / 2
    assert part.active_loop_name is None
    assert part.get_slot("service") == "whitening"
    assert part.get_slot("appointment_time") == "2026-12-14T09:00:00"
    assert not part.is_paused()


def test_a_paused_conversation_stays_paused():
    events = opening()
    for n in range(6):
        events += faq(n)
    events += handoff(6)
    for n in range(12):
        events += faq(n)
    part = windowed(stored(events), 5)
    assert part is not None and part.is_paused()


def test_a_form_running_across_every_cut_leaves_the_session_whole():
    events = opening() + start_booking(0) + fill(1)
    for n in range(30):
        events += digress(n)
    assert windowed(stored(events), 5) is None


def test_the_window_is_much_shorter_than_the_session():
    events = opening()
    for n in range(200):
        events += faq(n)
    raw = stored(events)
    part = windowed(raw, 10)
    assert part is not None
    assert len(raw) == 805 and len(part.events) == 5 + 1 + 10 * 4


def test_zero_turns_switches_the_window_off():
    events = opening()
    for n in range(30):
        events += faq(n)
    assert windowed(stored(events), 0) is None


def test_a_restart_in_the_middle_leaves_the_session_whole():
    events = opening()
    for n in range(15):
        events += faq(n)
    events += [Restarted()]
    for n in range(15):
        events += faq(n)
    assert windowed(stored(events), 5) is None


def test_a_short_session_is_not_windowed():
    events = opening()
    for n in range(6):
        events += faq(n)
    assert windowed(stored(events), 5) is None


def test_the_store_writes_events_whose_type_is_read_without_parsing():
    """The window reads each event's type from its first characters; the store's
    own format must keep "event" first, or every event is parsed whole."""
    from stores.session_window import _TYPE
    from stores.tracker_store import _stored

    events = opening() + start_booking(0) + fill(1) + digress(2) + finish(3)
    events += handoff(4) + resume(5) + reset(6) + [Restarted()]
    for event in events:
        for trim in (True, False):
            raw = _stored(event, trim)
            match = _TYPE.match(raw)
            assert match and match.group(1) == event.type_name, raw[:60]
