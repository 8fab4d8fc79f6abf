"""The rules of one text's turn, as plain functions: no Redis, no Rasa, no clock.

connectors/turns.py and connectors/worker.py do the I/O (read the reply record,
Rasa's tracker, the options offered last) and ask these functions what follows.
Kept apart so each rule is tested in microseconds (tests/connectors/
test_turn_rules.py) and read in one place:

- does the entry get a turn at all (HELP, a business-started-only deployment)?
- a turn found started before: send its stored parts, the replies Rasa's tracker
  has, start it afresh, wait for its worker, or take it over?
- what text does Rasa see (a numbered pick becomes its payload; a picture alone
  an intent)? which options are remembered for the next pick?
- does the failure message go out? is a failing entry retried or given up?
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from replytext.options import Option, resolve_choice

#: What a picture with no words says to the assistant: an intent trigger, so the
#: bot answers it like any other turn instead of the text being dropped.
MEDIA_ONLY_TEXT = "/send_media"


class Start(enum.Enum):
    """What an entry gets before any turn state is read."""

    HELP = "help"  # the configured help text, no turn
    CANCEL_HINT = "cancel_hint"  # how to cancel an appointment, no turn
    NONE = "none"  # no reply: outbound-only deployment, no active conversation
    TURN = "turn"  # a Rasa turn


def how_to_start(
    kind: str, initiate_from_inbound: bool, has_active_session: bool
) -> Start:
    """HELP is answered by the channel; with `initiate_from_inbound` off only a
    conversation the business started (still active) gets a turn."""
    if kind == "help":
        return Start.HELP
    if kind == "cancel_hint":
        return Start.CANCEL_HINT
    if not initiate_from_inbound and not has_active_session:
        return Start.NONE
    return Start.TURN


class Resume(enum.Enum):
    """What to do with a turn that was started before (another worker, or an
    earlier try of this one)."""

    SEND_STORED = "send_stored"  # its parts are stored: send those
    SEND_FROM_TRACKER = "send_from_tracker"  # Rasa saved it: its replies, no rerun
    START = "start"  # abandoned: start it afresh
    WAIT = "wait"  # its worker is alive: come back later
    TAKE_OVER = "take_over"  # its worker went silent before Rasa saved it


@dataclass(frozen=True)
class Resumption:
    action: Resume
    wait_seconds: float = 0.0  # for WAIT, and for TAKE_OVER if it is refused


def resume_started_turn(
    *,
    parts_stored: bool,
    in_tracker: bool,
    record_exists: bool,
    silent_seconds: float,
    stale_after: float,
    reclaim_after: float,
) -> Resumption:
    """Never run a turn twice: a turn that ended is answered from what it made;
    only one whose worker stopped before Rasa saved it is run again, and only
    after that worker gave no sign of life for `stale_after`."""
    if parts_stored:
        return Resumption(Resume.SEND_STORED)
    if in_tracker:
        return Resumption(Resume.SEND_FROM_TRACKER)
    if not record_exists:
        return Resumption(Resume.START)
    wait = max(reclaim_after, 0.1)
    if silent_seconds < stale_after:
        wait = max(min(reclaim_after, stale_after - silent_seconds), 0.1)
        return Resumption(Resume.WAIT, wait)
    return Resumption(Resume.TAKE_OVER, wait)


def text_for_turn(body: str, has_media: bool, offered: Sequence[Option]) -> str:
    """The text Rasa sees: a numbered pick of the options offered last as its
    payload, a picture with no words as MEDIA_ONLY_TEXT, else the body."""
    if not body.strip():
        return MEDIA_ONLY_TEXT if has_media else body
    if offered:
        picked = resolve_choice(body, offered)
        if picked is not None:
            return picked
    return body


def options_offered(buttons: Sequence[Mapping[str, Any]]) -> list[Option]:
    """The buttons of a turn's last message, as the options its next text may
    pick by number (a button with no payload sends its title)."""
    return [
        Option(str(b["title"]), str(b.get("payload") or b["title"])) for b in buttons
    ]


def with_failure_message(
    texts: Sequence[str], failed: bool, failure_message: str
) -> list[str]:
    """A turn that raised, or that Rasa logged an error in, ends with the failure
    message: the customer is never left with silence, nor with half an answer
    that looks whole."""
    return [*texts, failure_message] if failed else list(texts)


@dataclass(frozen=True)
class AfterFailure:
    """An entry whose processing raised: try it again at `retry_at`, or give up
    (dead letter and the customer told once)."""

    give_up: bool
    retry_at: float | None = None


def after_failure(
    failures: int, max_attempts: int, now: float, retry_after: float
) -> AfterFailure:
    """One bad entry must not stop a conversation for good: after its last
    allowed attempt it is given up, and the texts behind it are answered."""
    if failures < max_attempts:
        return AfterFailure(False, now + retry_after)
    return AfterFailure(True)


def contact_metadata(
    name: str | None,
    email: str | None,
    tags: Sequence[str],
    source: str,
) -> dict[str, Any]:
    """What the turn's metadata says of a known contact (action_session_start
    greets a known number by name)."""
    return {
        "contact": {"name": name, "email": email, "tags": list(tags), "source": source}
    }
