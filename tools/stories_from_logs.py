"""Turn real conversations into Rasa test stories, masked, for `rasa test` to replay.

    make stories-from-logs SINCE=7d [NUMBER=+14155552671] [ARGS=--worth-fixing]

Reads the tracker store of endpoints.yml (conversations saved within SINCE), cuts
each into its sessions, and writes them as test stories to
tests/from_logs/<date>.yml: the customer's texts with the intents and entities NLU
gave them, the actions the assistant took, the slots and forms. Nothing personal
goes into the file: phone numbers and e-mail addresses in texts become fixed
stand-ins, the customer's name (and any free-text slot) too, wherever it was
typed, and the message metadata (numbers, SIDs) is left out. `--worth-fixing`
keeps only sessions that ended with a person or a fallback: the ones to look at.

A story is what happened, not what should have: review it, fix what the assistant
got wrong (an intent, an action), and keep it in tests/ so `make test` holds it.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import re
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from tools.business_folder import business_folder

ROOT = Path(__file__).resolve().parents[1]

#: What a personal value becomes; realistic, so NLU reads the story as it read the text.
PHONE_STAND_IN = "+1 555 555 0100"
EMAIL_STAND_IN = "someone@example.com"
NAME_STAND_IN = "Alex Morgan"
TEXT_STAND_IN = "(masked)"
#: Slots whose values are the customer's own words: masked wherever they appear.
MASKED_SLOTS = {"customer_name": NAME_STAND_IN, "booking_note": TEXT_STAND_IN}
#: Slots that hold message metadata (numbers, SIDs): left out of the story.
DROPPED_SLOTS = {"session_started_metadata"}
#: What marks a session worth fixing: a hand-off or a fallback.
WORTH_FIXING_ACTIONS = {"action_handoff", "action_default_fallback", "utter_reprompt"}
WORTH_FIXING_INTENTS = {"nlu_fallback", "request_human"}

_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_SINCE = re.compile(r"^(\d+)([mhd])$")


def parse_since(text: str) -> float:
    """ "7d", "24h" or "30m" in seconds; ValueError names the form."""
    found = _SINCE.match(text.strip().lower())
    if not found:
        raise ValueError(
            f"SINCE: expected a number and m, h or d (7d, 24h, 30m), got {text!r}"
        )
    return int(found.group(1)) * {"m": 60, "h": 3600, "d": 86400}[found.group(2)]


def _personal_values(events: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Every personal string of the conversation -> its stand-in, longest first."""
    found: dict[str, str] = {}
    for event in events:
        if event.get("event") == "slot" and event.get("name") in MASKED_SLOTS:
            value = event.get("value")
            if isinstance(value, str) and value.strip():
                found[value.strip()] = MASKED_SLOTS[event["name"]]
        contact = ((event.get("metadata") or {}).get("contact") or {}).get("name")
        if isinstance(contact, str) and contact.strip():
            found[contact.strip()] = NAME_STAND_IN
        if event.get("event") == "slot" and event.get("name") in DROPPED_SLOTS:
            name = ((event.get("value") or {}).get("contact") or {}).get("name")
            if isinstance(name, str) and name.strip():
                found[name.strip()] = NAME_STAND_IN
    return dict(sorted(found.items(), key=lambda item: -len(item[0])))


def mask_text(text: str, personal: dict[str, str]) -> str:
    for value, stand_in in personal.items():
        text = re.sub(re.escape(value), stand_in, text, flags=re.IGNORECASE)
    text = _EMAIL.sub(EMAIL_STAND_IN, text)
    return _PHONE.sub(PHONE_STAND_IN, text)


def _masked_user(event: dict[str, Any], personal: dict[str, str]) -> dict[str, Any]:
    event = copy.deepcopy(event)
    original = event.get("text") or ""
    text = mask_text(original, personal)
    event["text"] = text
    event.pop("metadata", None)
    parse = event.get("parse_data") or {}
    parse["text"] = text
    parse.pop("metadata", None)
    entities = []
    for entity in parse.get("entities") or []:
        start, end = entity.get("start"), entity.get("end")
        if isinstance(start, int) and isinstance(end, int):
            surface = mask_text(original[start:end], personal)
            at = text.find(surface)
            if at < 0:
                continue
            entity["start"], entity["end"] = at, at + len(surface)
        if isinstance(entity.get("value"), str):
            entity["value"] = mask_text(entity["value"], personal)
        entities.append(entity)
    parse["entities"] = entities
    event["parse_data"] = parse
    return event


def mask_events(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with nothing personal left in them (see the module's docstring)."""
    personal = _personal_values(events)
    masked: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind == "slot" and event.get("name") in DROPPED_SLOTS:
            continue
        if kind == "user":
            masked.append(_masked_user(event, personal))
            continue
        event = copy.deepcopy(event)
        event.pop("metadata", None)
        if kind == "slot" and event.get("name") in MASKED_SLOTS and event.get("value"):
            event["value"] = MASKED_SLOTS[event["name"]]
        if kind == "bot":
            event["text"] = mask_text(event.get("text") or "", personal)
        masked.append(event)
    return masked


def sessions(events: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Each session from its first customer text on (the greeting and the session's
    set-up are Rasa's, not the customer's); sessions without a text are left out."""
    found: list[list[dict[str, Any]]] = [[]]
    for event in events:
        if (
            event.get("event") == "action"
            and event.get("name") == "action_session_start"
        ):
            found.append([])
        else:
            found[-1].append(event)
    kept = []
    for session in found:
        first = next((i for i, e in enumerate(session) if _customer_text(e)), None)
        if first is not None:
            kept.append(session[first:])
    return kept


def _customer_text(event: dict[str, Any]) -> bool:
    """A text the customer typed (not an external event the business sent)."""
    return event.get("event") == "user" and not str(event.get("text") or "").startswith(
        "EXTERNAL: "
    )


def worth_fixing(session: Sequence[dict[str, Any]]) -> bool:
    for event in session:
        if event.get("event") == "action" and event.get("name") in WORTH_FIXING_ACTIONS:
            return True
        if event.get("event") == "pause":
            return True
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if event.get("event") == "user" and intent in WORTH_FIXING_INTENTS:
            return True
    return False


def story_steps(session: list[dict[str, Any]], domain: Any, name: str) -> list[Any]:
    """The session as Rasa's story steps (Rasa's own tracker -> story conversion)."""
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker.from_dict(name, session, domain.slots)
    story = tracker.as_story(include_source=False)
    for step in story.story_steps:
        step.block_name = name
    return story.story_steps


def write_stories(named: list[tuple[str, list[dict[str, Any]]]], domain: Any) -> str:
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import (
        YAMLStoryWriter,
    )

    steps = [
        step for name, session in named for step in story_steps(session, domain, name)
    ]
    return YAMLStoryWriter().dumps(steps, is_test_story=True)


async def conversations_since(
    store: Any, since_seconds: float, number: str | None
) -> list[tuple[str, list[dict[str, Any]]]]:
    """(conversation id, raw events) of those saved within the period, oldest first."""
    import json

    from redisio import keys as redis_keys

    client = store.redis.get()
    index = redis_keys.tracker_index(store.key_prefix)
    ids = await client.zrangebyscore(index, time.time() - since_seconds, "+inf")
    if number:
        ids = [i for i in ids if i == number]
    found = []
    for conversation_id in ids:
        raw = await client.lrange(store.events_key(conversation_id), 0, -1)
        found.append((conversation_id, [json.loads(e) for e in raw]))
    await store.close()
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--since", default="7d", help="7d, 24h, 30m (default 7d)")
    parser.add_argument("--number", help="only this customer's conversation (E.164)")
    parser.add_argument(
        "--worth-fixing",
        action="store_true",
        help="only sessions with a hand-off or a fallback",
    )
    parser.add_argument("--endpoints", default=str(ROOT / "endpoints.yml"))
    parser.add_argument("--domain", default=str(business_folder().domain))
    parser.add_argument(
        "--out", help="file to write (default tests/from_logs/<today>.yml)"
    )
    args = parser.parse_args(argv)
    try:
        since = parse_since(args.since)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import read_endpoint_config

    from stores.tracker_store import RedisSessionTrackerStore

    domain = Domain.load(args.domain)
    config = read_endpoint_config(args.endpoints, "tracker_store")
    store = TrackerStore.create(config, domain)
    if not isinstance(store, RedisSessionTrackerStore):
        print(
            "error: endpoints.yml's tracker_store is not the project's", file=sys.stderr
        )
        return 2
    from redis.exceptions import RedisError

    try:
        found = asyncio.run(conversations_since(store, since, args.number))
    except (RedisError, OSError) as err:
        print(
            f"error: cannot read the tracker store ({type(err).__name__}): is Redis "
            "up (`make run` or `make redis`)?",
            file=sys.stderr,
        )
        return 1
    named: list[tuple[str, list[dict[str, Any]]]] = []
    for n, (_conversation, events) in enumerate(found, 1):
        for s, session in enumerate(sessions(mask_events(events)), 1):
            if args.worth_fixing and not worth_fixing(session):
                continue
            when = datetime.fromtimestamp(float(session[0].get("timestamp") or 0))
            named.append(
                (f"from logs: conversation {n}, session {s} ({when:%Y-%m-%d})", session)
            )
    out = (
        Path(args.out)
        if args.out
        else ROOT / "tests" / "from_logs" / f"{datetime.now():%Y-%m-%d}.yml"
    )
    if not named:
        print(f"no sessions found in the last {args.since}: nothing written")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(write_stories(named, domain))
    print(f"{len(named)} stories from {len(found)} conversations -> {out}")
    print(
        f"replay: .venv/bin/rasa test core --stories {out} --fail-on-prediction-errors"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
