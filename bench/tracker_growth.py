"""Turn latency and Redis bytes as one number's history grows, for two tracker stores.

One customer texts N turns in a row through the real path: the local Twilio
emulator signs and posts each text to the SMS webhook of a real `rasa run`, the
worker runs the turn (real action server, real redis-server) and the reply comes
back through twilio-python into the emulator. A turn's latency is the time from
posting the text until its queue entry is gone, i.e. every reply of the turn has
been accepted by "Twilio". A new session starts every `--session-length` turns
(Rasa's own API: POST /conversations/<id>/execute action_session_start), as a day's
conversation would after 24 h of quiet.

The stores run one after the other on the same machine, never together:
ours (`stores.redis_store.RedisSessionTrackerStore`) and Rasa's `type: redis`.

    .venv/bin/python -m bench.tracker_growth                 # the full run
    .venv/bin/python -m bench.tracker_growth --turns 200     # a quick look

Writes bench/results/tracker_growth.json and the table in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import redis as redis_sync

from tests.e2e.sms_stack import SmsStack, http
from tests.redis_server import RedisServer

ROOT = Path(__file__).parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
RAW = ROOT / "bench" / "results" / "tracker_growth.json"
CUSTOMER = "+14155550123"
STORES = {
    "ours": "stores.redis_store.RedisSessionTrackerStore",
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
WINDOW = 20  # turns per median: 1-20, then the 20 turns ending at each checkpoint


@dataclass
class Run:
    store: str
    session_length: int
    latencies_ms: list[float] = field(default_factory=list)
    bytes_at: dict[int, int] = field(default_factory=dict)  # turn -> Redis bytes


def conversation_bytes(client: redis_sync.Redis, customer: str) -> int:
    """MEMORY USAGE of every key that holds this conversation's tracker."""
    keys = [k for k in client.scan_iter(match=f"*{customer}*", count=1000)]
    return sum(client.memory_usage(k, samples=0) or 0 for k in keys)


def one_turn(stack: SmsStack, sms: redis_sync.Redis, text: str, after: int) -> int:
    """Text in, wait for the turn's replies; returns the emulator log position."""
    stack.text(CUSTOMER, text)
    status, found = http(
        "GET",
        f"{stack.emulator}/_emulator/messages?to=%2B{CUSTOMER[1:]}"
        f"&after={after}&wait=60",
        timeout=70,
    )
    assert status == 200 and found["messages"], f"no reply to {text!r}: {found}"
    queue = f"sms:{{{CUSTOMER}}}:queue"
    deadline = time.monotonic() + 60
    while sms.llen(queue) and time.monotonic() < deadline:
        time.sleep(0.002)
    return found["next"]


def run_store(
    name: str, turns: int, session_length: int, checkpoints: list[int], workdir: Path
) -> Run:
    redis_server = RedisServer()
    stack = SmsStack(
        redis_server,
        workdir / name,
        tracker_store=STORES[name],
        settings={"max_parts_per_turn": 3},
    )
    (workdir / name).mkdir(parents=True, exist_ok=True)
    run = Run(name, session_length)
    try:
        stack.start()
        sms = stack.redis()
        trackers = redis_sync.Redis.from_url(
            f"redis://127.0.0.1:{redis_server.port}/{stack.db + 1}"
        )
        after = 0
        started = time.monotonic()
        for turn in range(1, turns + 1):
            if turn > 1 and (turn - 1) % session_length == 0:
                status, body = http(
                    "POST",
                    f"{stack.public_url}/conversations/{CUSTOMER}/execute",
                    {"name": "action_session_start"},
                )
                assert status == 200, body
            t0 = time.perf_counter()
            after = one_turn(stack, sms, TEXTS[(turn - 1) % len(TEXTS)], after)
            run.latencies_ms.append((time.perf_counter() - t0) * 1000)
            if turn in checkpoints or turn == turns:
                run.bytes_at[turn] = conversation_bytes(trackers, CUSTOMER)
                print(
                    f"{name}: turn {turn}, median of last {WINDOW} "
                    f"{statistics.median(run.latencies_ms[-WINDOW:]):.0f} ms, "
                    f"{run.bytes_at[turn]:,} bytes, {time.monotonic() - started:.0f} s",
                    flush=True,
                )
    finally:
        stack.stop()
        redis_server.stop()
    return run


def window_median(latencies: list[float], end: int) -> float | None:
    if end > len(latencies):
        return None
    return statistics.median(latencies[max(0, end - WINDOW) : end])


def table(runs: list[Run], checkpoints: list[int]) -> str:
    head = "| store | " + " | ".join(f"turn {c}" for c in checkpoints)
    lines = [
        head + " | turn-last ÷ turns 1–20 |",
        "|---" * (len(checkpoints) + 2) + "|",
    ]
    for run in runs:
        cells = []
        for c in checkpoints:
            median = window_median(run.latencies_ms, c)
            cells.append("–" if median is None else f"{median:.0f} ms")
        first = window_median(run.latencies_ms, WINDOW) or 0
        last = window_median(run.latencies_ms, len(run.latencies_ms)) or 0
        lines.append(
            f"| {run.store} | " + " | ".join(cells) + f" | {last / first:.2f} |"
        )
    lines += ["", "| store | " + " | ".join(f"bytes at turn {c}" for c in checkpoints)]
    lines.append("|---" * (len(checkpoints) + 1) + "|")
    for run in runs:
        cells = [
            f"{run.bytes_at[c]:,}" if c in run.bytes_at else "–" for c in checkpoints
        ]
        lines.append(f"| {run.store} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(runs: list[Run], checkpoints: list[int], args: argparse.Namespace):
    RAW.parent.mkdir(parents=True, exist_ok=True)
    RAW.write_text(
        json.dumps({"args": vars(args), "runs": [asdict(r) for r in runs]}, indent=1)
    )
    marker = f"<!-- tracker_growth session_length={args.session_length} -->"
    section = (
        f"{marker}\n"
        f"`.venv/bin/python -m bench.tracker_growth --turns {args.turns} "
        f"--session-length {args.session_length} --stores {','.join(args.stores)}` "
        f"on {time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}. Median turn latency over {WINDOW} "
        f"turns (turns 1–20, then the {WINDOW} turns ending at each turn shown); "
        "Redis bytes = MEMORY USAGE of the conversation's tracker keys.\n\n"
        f"{table(runs, checkpoints)}\n"
        f"<!-- end -->\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n\n"
    if marker in text:
        before, rest = text.split(marker, 1)
        text = before + section + rest.split("<!-- end -->\n", 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--session-length", type=int, default=50)
    parser.add_argument(
        "--stores", type=lambda s: s.split(","), default=["ours", "rasa"]
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    unknown = set(args.stores) - set(STORES)
    if unknown:
        parser.error(f"unknown store(s) {sorted(unknown)}; choose from {list(STORES)}")
    checkpoints = sorted(
        {WINDOW, *[c for c in (100, 500, 1000, 2000) if c <= args.turns], args.turns}
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-tracker-"))
    runs = [
        run_store(name, args.turns, args.session_length, checkpoints, workdir)
        for name in args.stores
    ]
    print(table(runs, checkpoints))
    if not args.no_write:
        write_results(runs, checkpoints, args)


if __name__ == "__main__":
    main()
