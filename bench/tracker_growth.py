"""Turn latency and Redis bytes as one number's history grows, for two tracker stores.

One customer texts N turns in a row through the real path: the local Twilio
emulator signs and posts each text to the SMS webhook of a real `rasa run`, the
worker runs the turn (real action server, real redis-server) and the reply comes
back through twilio-python into the emulator. A turn's latency is the time from
posting the text until its queue entry is gone, i.e. every reply of the turn has
been accepted by "Twilio". A new session starts every `--session-length` turns
(Rasa's own API: POST /conversations/<id>/execute action_session_start), as the
next day's conversation would after 24 h of quiet.

The stores run one after the other on the same machine, never together:
ours (`stores.tracker_store.RedisSessionTrackerStore`) and Rasa's `type: redis`.

Two ways to reach turn N, both reported:
- live: N sequential turns through the webhook (ours: all of them; Rasa's store
  only up to `--rasa-live-turns`, because its turns slow down with every turn of
  history and 2,000 of them would take hours);
- seeded: a fresh number gets N - session_length turns of history written through
  the store's own `save()` (copies of a recorded live session, timestamps moved into
  the last hour), then one live session of `session_length` turns is measured.

    .venv/bin/python -m bench.tracker_growth                 # the full run (~25 min)
    .venv/bin/python -m bench.tracker_growth --turns 200     # a quick look
    .venv/bin/python -m bench.tracker_growth --turns 200 --session-length 200 \
        --rasa-live-turns 200 --seeded none                  # one long session

Writes bench/results/tracker_growth.json and the table in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis as redis_sync
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from redisio import keys as redis_keys
from stores.tracker_store import RedisSessionTrackerStore
from tools.harness.redis_server import RedisServer
from tools.harness.sms_stack import SmsStack, http

ROOT = Path(__file__).parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
RAW = ROOT / "bench" / "results"
LIVE_CUSTOMER = "+14155550100"
STORES = {
    "ours": "stores.tracker_store.RedisSessionTrackerStore",
    "rasa": "redis",
}
#: Questions that each get one answer and open no form, so every turn is alike.
TEXTS = (
    "what are your hours",
    "where are you located",
    "do you take insurance",
    "is there parking",
    "how much is a cleaning",
    "thanks",
)
WINDOW = 20  # turns per median


@dataclass
class Series:
    """One number's measured turns: latencies of turns first_turn, first_turn+1, ..."""

    store: str
    how: str  # "live" or "seeded"
    first_turn: int
    latencies_ms: list[float] = field(default_factory=list)
    bytes_stored: dict[int, int] = field(default_factory=dict)  # turn -> MEMORY USAGE
    bytes_read: dict[int, int] = field(default_factory=dict)  # turn -> per retrieve

    def window(self, end: int) -> float | None:
        """Median of the WINDOW turns ending at turn `end`, if all were measured."""
        start = end - WINDOW + 1
        if start < self.first_turn or end >= self.first_turn + len(self.latencies_ms):
            return None
        lo = start - self.first_turn
        return statistics.median(self.latencies_ms[lo : lo + WINDOW])


class Bench:
    def __init__(self, store: str, session_length: int, workdir: Path) -> None:
        self.store = store
        self.session_length = session_length
        self.redis_server = RedisServer()
        self.stack = SmsStack(
            self.redis_server, workdir / store, tracker_store=STORES[store]
        )
        (workdir / store).mkdir(parents=True, exist_ok=True)
        self.domain = Domain.load(ROOT / "domain.yml")
        self.after = 0  # emulator log position

    def __enter__(self) -> Bench:
        self.stack.start()
        self.sms = self.stack.redis()
        self.trackers = redis_sync.Redis.from_url(
            f"redis://127.0.0.1:{self.redis_server.port}/{self.stack.db + 1}"
        )
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stack.stop()
        self.redis_server.stop()

    # --- turns -------------------------------------------------------------------

    def new_session(self, customer: str) -> None:
        status, body = http(
            "POST",
            self.stack.api(f"/conversations/{customer}/execute"),
            {"name": "action_session_start"},
            timeout=600,
        )
        assert status == 200, body

    def turn(self, customer: str, text: str) -> float:
        """Text in; milliseconds until the turn's queue entry is gone."""
        start = time.perf_counter()
        self.stack.text(customer, text)
        status, found = http(
            "GET",
            f"{self.stack.emulator}/_emulator/messages?to=%2B{customer[1:]}"
            f"&after={self.after}&wait=600",
            timeout=610,
        )
        assert status == 200 and found["messages"], f"no reply to {text!r}: {found}"
        self.after = found["next"]
        queue = redis_keys.queue(customer)
        deadline = time.monotonic() + 600
        while self.sms.llen(queue) and time.monotonic() < deadline:
            time.sleep(0.002)
        return (time.perf_counter() - start) * 1000

    def run(self, series: Series, customer: str, turns: int, marks: set[int]) -> None:
        for offset in range(turns):
            turn = series.first_turn + offset
            if turn > 1 and (turn - 1) % self.session_length == 0:
                self.new_session(customer)
            series.latencies_ms.append(
                self.turn(customer, TEXTS[(turn - 1) % len(TEXTS)])
            )
            if turn in marks:
                series.bytes_stored[turn] = self.bytes_stored(customer)
                series.bytes_read[turn] = self.bytes_read(customer)
                print(
                    f"{series.store} {series.how}: turn {turn}, median of last "
                    f"{WINDOW} {series.window(turn) or 0:.0f} ms, "
                    f"{series.bytes_stored[turn]:,} bytes stored, "
                    f"{series.bytes_read[turn]:,} read per turn",
                    flush=True,
                )

    # --- what Redis holds --------------------------------------------------------

    def tracker_keys(self, customer: str) -> list[bytes]:
        return list(self.trackers.scan_iter(match=f"*{customer}*", count=1000))

    def bytes_stored(self, customer: str) -> int:
        """MEMORY USAGE of every key holding this conversation's tracker."""
        return sum(
            self.trackers.memory_usage(k, samples=0) or 0
            for k in self.tracker_keys(customer)
        )

    def bytes_read(self, customer: str) -> int:
        """What one retrieve reads: Rasa's whole blob, or our current session."""
        if self.store == "rasa":
            return int(self.trackers.strlen(f"tracker:{customer}"))
        events, sessions = (
            redis_keys.tracker_events("tracker", customer),
            redis_keys.tracker_sessions("tracker", customer),
        )
        start = int(self.trackers.lindex(sessions, -1) or 0)
        return sum(len(e) for e in self.trackers.lrange(events, start, -1))

    # --- seeding -----------------------------------------------------------------

    def recorded_session(self, customer: str) -> list[dict[str, Any]]:
        """The events of the live number's second session, as Rasa stored them."""
        tracker = self.stack.tracker(customer)
        sessions: list[list[dict[str, Any]]] = []
        for event in tracker["events"]:
            if event["event"] == "action" and event["name"] == "action_session_start":
                sessions.append([])
            if sessions:
                sessions[-1].append(event)
        assert len(sessions) >= 3, "need two full live sessions to copy"
        return sessions[1]

    def seed(self, customer: str, template: list[dict[str, Any]], turns: int) -> None:
        """`turns` turns of history in whole sessions, through the store's save()."""
        copies = turns // self.session_length
        t0 = template[0]["timestamp"]
        span = template[-1]["timestamp"] - t0 + 1
        start = time.time() - 3600 - copies * span
        events: list[Event] = []
        for _ in range(copies):
            for raw in template:
                moved = {**raw, "timestamp": raw["timestamp"] - t0 + start}
                events.append(Event.from_parameters(moved))
            start += span
        tracker = DialogueStateTracker.from_events(customer, events, self.domain.slots)
        asyncio.run(self._save(tracker))

    async def _save(self, tracker: DialogueStateTracker) -> None:
        kwargs = {"host": "127.0.0.1", "port": self.redis_server.port}
        kwargs["db"] = self.stack.db + 1
        if self.store == "rasa":
            await RedisTrackerStore(self.domain, **kwargs).save(tracker)
        else:
            store = RedisSessionTrackerStore(self.domain, **kwargs)
            await store.save(tracker)
            await store.close()


def measure(
    store: str,
    live_turns: int,
    seeded: list[int],
    session_length: int,
    workdir: Path,
) -> list[Series]:
    results = []
    with Bench(store, session_length, workdir) as bench:
        live = Series(store, "live", 1)
        marks = {WINDOW, *range(100, live_turns + 1, 100), live_turns}
        bench.run(live, LIVE_CUSTOMER, live_turns, marks)
        results.append(live)
        if seeded:
            template = bench.recorded_session(LIVE_CUSTOMER)
        for turn in seeded:
            customer = f"+1415555{turn:04d}"
            first = turn - session_length + 1
            bench.seed(customer, template, first - 1)
            series = Series(store, "seeded", first)
            bench.run(series, customer, session_length, {turn})
            results.append(series)
    return results


def table(series: list[Series], checkpoints: list[int]) -> str:
    lines = [
        "| store | how | "
        + " | ".join(f"turns {max(1, c - WINDOW + 1)}–{c}" for c in checkpoints)
        + " | last ÷ first |",
        "|---" * (len(checkpoints) + 3) + "|",
    ]
    first = {s.store: s.window(WINDOW) for s in series if s.how == "live"}
    for s in series:
        cells = [s.window(c) for c in checkpoints]
        if s.how == "seeded" and not any(cells):
            continue
        shown = ["" if v is None else f"{v:.0f} ms" for v in cells]
        found = [v for v in cells if v is not None]
        base = first.get(s.store)
        ratio = f"{found[-1] / base:.2f}" if found and base else ""
        lines.append(f"| {s.store} | {s.how} | " + " | ".join(shown) + f" | {ratio} |")
    lines += [
        "",
        "| store | how | turn | Redis bytes stored | bytes read per turn |",
        "|---|---|---|---|---|",
    ]
    for s in series:
        for turn in sorted(s.bytes_stored):
            if turn in checkpoints or turn == max(s.bytes_stored):
                lines.append(
                    f"| {s.store} | {s.how} | {turn} | {s.bytes_stored[turn]:,} | "
                    f"{s.bytes_read[turn]:,} |"
                )
    return "\n".join(lines)


def write_results(series: list[Series], checkpoints: list[int], args: Any) -> None:
    RAW.mkdir(parents=True, exist_ok=True)
    name = f"tracker_growth_s{args.session_length}.json"
    (RAW / name).write_text(
        json.dumps({"args": vars(args), "series": [asdict(s) for s in series]})
    )
    marker = f"<!-- tracker_growth session_length={args.session_length} -->"
    command = (
        f"`.venv/bin/python -m bench.tracker_growth --turns {args.turns} "
        f"--session-length {args.session_length} --rasa-live-turns "
        f"{args.rasa_live_turns} --seeded {args.seeded}`"
    )
    section = (
        f"{marker}\n{command}, {time.strftime('%Y-%m-%d')}, "
        f"{platform.machine()}, Python {platform.python_version()}, raw data in "
        f"`bench/results/{name}` (commit it with the figures).\n\n{table(series, checkpoints)}\n<!-- end -->\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    if marker in text:
        before, rest = text.split(marker, 1)
        text = before + section + rest.split("<!-- end -->\n", 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--session-length", type=int, default=20)
    parser.add_argument("--rasa-live-turns", type=int, default=100)
    parser.add_argument(
        "--seeded",
        default="500,1000,2000",
        help="turns to reach by seeding history, comma separated, or 'none'",
    )
    parser.add_argument("--stores", default="ours,rasa")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    stores = args.stores.split(",")
    if set(stores) - set(STORES):
        parser.error(f"--stores: choose from {list(STORES)}")
    seeded = [] if args.seeded == "none" else [int(t) for t in args.seeded.split(",")]
    if any(t % args.session_length or t <= args.session_length for t in seeded):
        parser.error("--seeded turns must be multiples of --session-length, above it")
    checkpoints = sorted(
        {
            WINDOW,
            *seeded,
            *[c for c in (500, 1000, 2000) if c <= args.turns],
            args.turns,
        }
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-tracker-"))
    series: list[Series] = []
    for store in stores:
        live = args.turns if store == "ours" else min(args.turns, args.rasa_live_turns)
        series += measure(store, live, seeded, args.session_length, workdir)
    print(table(series, checkpoints))
    if not args.no_write:
        write_results(series, checkpoints, args)


if __name__ == "__main__":
    main()
