"""Which counts a batch of newly stored tracker events adds: sessions, hand-offs.

The tracker store calls this once per append, and an append happens once per event
(stores/tracker_store.py), so nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rasa.shared.core.constants import SESSION_START_METADATA_SLOT
from rasa.shared.core.events import ConversationPaused, Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker


def line_of(metadata: Mapping[str, Any] | None) -> str | None:
    """The business line of an SMS message's metadata (connectors/inbound.py)."""
    if not metadata or metadata.get("channel_type") != "sms":
        return None
    line = metadata.get("messaging_service_sid") or metadata.get("to")
    return str(line) if line else None


def counts_for(
    tracker: DialogueStateTracker, new_events: Sequence[Event]
) -> tuple[str | None, dict[str, int]]:
    """(the line, counts) for the events just appended; no line: not an SMS chat."""
    counts = {"sessions": 0, "contacts_matched": 0, "handoffs": 0}
    start_metadata: Mapping[str, Any] | None = None
    for event in new_events:
        if isinstance(event, SessionStarted):
            counts["sessions"] += 1
        elif isinstance(event, ConversationPaused):
            counts["handoffs"] += 1
        elif (
            isinstance(event, SlotSet)
            and event.key == SESSION_START_METADATA_SLOT
            and isinstance(event.value, Mapping)
        ):
            start_metadata = event.value
    if start_metadata and counts["sessions"]:
        contact = start_metadata.get("contact")
        if isinstance(contact, Mapping) and contact.get("name"):
            counts["contacts_matched"] = 1
    line = line_of(start_metadata) or line_of(
        tracker.latest_message.metadata if tracker.latest_message else None
    )
    return line, {name: n for name, n in counts.items() if n}
