"""Bytes a turn adds to the tracker store, with and without trimming the NLU parse.

The same scripted SMS conversations (a booking, FAQs, small talk) run through the
real path (emulator -> `rasa run` SMS webhook -> worker -> our tracker store) twice,
each on a fresh redis-server: once with `trim_parse_data: false` (every event as
Rasa writes it) and once with the default (stores/event_trim.py). Reported: stored
event bytes per turn (the JSON of every event of the conversation, divided by its
user turns), the user events' share, and Redis `MEMORY USAGE` per turn.

    .venv/bin/python -m bench.turn_bytes          # ~3 min; bytes, not time: may run
                                                  # beside other work

Writes bench/results/turn_bytes.json and its section of bench/RESULTS.md.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis as redis_sync  # the benchmark drives from outside, like the tests

from actions.business import business
from bench.results_md import replace_section
from redisio import keys as redis_keys
from tools.harness.redis_server import RedisServer
from tools.harness.sms_stack import SmsStack

ROOT = Path(__file__).parents[1]
RAW = ROOT / "bench" / "results"
BEGIN = "<!-- turn_bytes:begin -->"
END = "<!-- turn_bytes:end -->"


def booking_day() -> str:
    """A Tuesday at least two days ahead, written M/D as a customer would: far
    enough ahead to book in the business's zone (as the e2e tests pick it)."""
    day = business().now().date() + timedelta(days=2)
    while day.weekday() != 1:
        day += timedelta(days=1)
    return f"{day.month}/{day.day}"


def conversations() -> dict[str, list[str]]:
    day = booking_day()
    return {
        "+14155550801": [
            f"hi can i book a cleaning {day} at 10am",
            "Sam Lee",
            "y",
            "when is my appt",
            "thanks",
        ],
        "+14155550802": [
            "what are your hours",
            "where are you located",
            "do you take delta dental",
            "how much is a cleaning",
            "ok thanks bye",
        ],
        "+14155550803": [
            "hello",
            "i want a checkup",
            "tomorrow at 3pm",
            "Jo Park",
            "n",
        ],
    }


def wait_answered(stack: SmsStack, phone: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if stack.redis().llen(redis_keys.queue(phone)) == 0:
            return
        time.sleep(0.2)
    raise TimeoutError(phone)


def measure(trim: bool) -> dict[str, Any]:
    server = RedisServer()
    workdir = Path(tempfile.mkdtemp(prefix="turn-bytes-"))
    stack = SmsStack(
        server,
        workdir,
        db=0,
        store_options={"trim_parse_data": "true" if trim else "false"},
    )
    try:
        stack.start()
        for phone, texts in conversations().items():
            for text in texts:
                stack.text(phone, text)
                wait_answered(stack, phone)
        client = redis_sync.Redis.from_url(server.url_for(1))
        turns = events_bytes = user_bytes = memory = 0
        for phone in conversations():
            key = redis_keys.tracker_events("tracker", phone)
            raw = client.lrange(key, 0, -1)
            events = [json.loads(e) for e in raw]
            users = [
                len(r) for r, e in zip(raw, events, strict=True) if e["event"] == "user"
            ]
            turns += len(users)
            events_bytes += sum(len(r) for r in raw)
            user_bytes += sum(users)
            memory += int(client.memory_usage(key, samples=0) or 0)
        return {
            "turns": turns,
            "event_bytes_per_turn": round(events_bytes / turns),
            "user_event_bytes_per_turn": round(user_bytes / turns),
            "redis_memory_per_turn": round(memory / turns),
        }
    finally:
        stack.stop()
        server.stop()


def write_section(results: dict[str, Any]) -> None:
    full, trimmed = results["untrimmed"], results["trimmed"]
    rows = []
    for label, key in (
        ("all events of a turn, JSON bytes", "event_bytes_per_turn"),
        ("of which the user event", "user_event_bytes_per_turn"),
        ("Redis MEMORY USAGE", "redis_memory_per_turn"),
    ):
        before, after = full[key], trimmed[key]
        rows.append(
            f"| {label} | {before:,} | {after:,} | {after - before:+,} "
            f"({(after - before) / before:+.0%}) |"
        )
    section = f"""{BEGIN}
## Tracker bytes per turn: trimming the stored NLU parse

`.venv/bin/python -m bench.turn_bytes` ({results["date"]}). Three scripted SMS
conversations ({full["turns"]} customer turns: a booking, FAQs, a declined booking)
through the real path, stored by our tracker store with `trim_parse_data: false`
(every event as Rasa writes it) and with the default `true` (stores/event_trim.py:
top 3 intents instead of all, the chosen FAQ response's key instead of its
ranking, no token offsets, no second copy of the text and message id).

| per customer turn | untrimmed | trimmed | change |
| --- | --- | --- | --- |
{chr(10).join(rows)}
{END}"""
    replace_section(section, BEGIN, END)


def main() -> None:
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d")}
    results["untrimmed"] = measure(trim=False)
    print("untrimmed", results["untrimmed"], flush=True)
    results["trimmed"] = measure(trim=True)
    print("trimmed", results["trimmed"], flush=True)
    assert results["untrimmed"]["turns"] == results["trimmed"]["turns"]
    RAW.mkdir(parents=True, exist_ok=True)
    (RAW / "turn_bytes.json").write_text(json.dumps(results, indent=2) + "\n")
    write_section(results)


if __name__ == "__main__":
    main()
