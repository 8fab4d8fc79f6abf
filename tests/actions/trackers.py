"""Build rasa_sdk Trackers the way the Rasa server sends them to the action server."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.business import Business, business
from actions.replies import MAX_REPLY

DOMAIN: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parents[2] / "domain.yml").read_text(encoding="utf-8")
)
CUSTOMER = "+15555550101"


def make_tracker(
    text: str = "",
    intent: str = "inform",
    slots: dict[str, Any] | None = None,
    *,
    sender: str = CUSTOMER,
    entities: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
    slots_set_this_turn: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    input_channel: str | None = "rest",
    extra_message: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker whose latest event is the user's message (plus this turn's SlotSets).

    `slots_set_this_turn` are what Rasa's action_extract_slots set from the message;
    rasa_sdk validates exactly those.
    """
    all_slots = {name: None for name in DOMAIN["slots"]}
    all_slots["requested_slot"] = None
    all_slots.update(slots or {})
    all_slots.update(slots_set_this_turn or {})
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "intent_ranking": [{"name": intent, "confidence": 1.0}],
        "entities": entities or [],
        **(extra_message or {}),
    }
    history = list(events or [])
    # what earlier turns set, as Rasa records it
    history += [
        {"event": "slot", "name": k, "value": v} for k, v in (slots or {}).items()
    ]
    history.append(
        {
            "event": "user",
            "text": text,
            "parse_data": message,
            "input_channel": input_channel,
        }
    )
    history += [
        {"event": "slot", "name": k, "value": v}
        for k, v in (slots_set_this_turn or {}).items()
    ]
    return Tracker(
        sender_id=sender,
        slots=all_slots,
        latest_message=message,
        events=history,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["text"] for m in dispatcher.messages if m.get("text")]


def assert_sms_shaped(dispatcher: CollectingDispatcher) -> None:
    """What a customer would notice: short, plain replies (long only with options)."""
    for text in texts(dispatcher):
        assert text == text.strip() and "  " not in text and "\n" not in text
        assert not any(marker in text for marker in ("**", "__", "`", "<", ">")), text
        if "Reply 1" not in text:
            assert len(text) <= MAX_REPLY, text


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def next_weekday(
    weekday: int, min_days_ahead: int = 2, biz: Business | None = None
) -> date:
    """The first date at least `min_days_ahead` away that falls on `weekday` (Mon 0),
    in `biz`'s time zone (default: the in-process business)."""
    day = (biz or business()).now().date() + timedelta(days=min_days_ahead)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def local(
    day: date, hour: int, minute: int = 0, biz: Business | None = None
) -> datetime:
    return datetime.combine(
        day, time(hour, minute), tzinfo=(biz or business()).timezone
    )


def mdy(day: date) -> str:
    return f"{day.month}/{day.day}"
