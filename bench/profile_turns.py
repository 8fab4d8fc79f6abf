"""Where a turn's CPU goes: py-spy on the Rasa server while phones text it.

Two scenarios against `make run`'s layout (the ingress, one Rasa process, the action
server, Redis, the emulator at 0 ms): FAQ questions, and booking conversations
(service, day and time, name, then "N" so no slot fills up). For each, py-spy
records the Rasa process at 100 Hz: a flame graph (bench/profiles/<scenario>.svg)
and the raw stacks, which are sorted into the parts the issue names (NLU, policies,
tracker (de)serialisation, the action server round trip, this project's channel and
stores, the web server and event loop). Writes the table to bench/RESULTS.md.

    .venv/bin/python -m bench.profile_turns            # about 3 minutes

Run it on an otherwise idle machine; not part of `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import aiohttp

from bench.results_md import replace_section
from bench.soak import QUESTIONS
from tools.harness.redis_server import RedisServer
from tools.harness.sms_stack import BUSINESS, SmsStack

ROOT = Path(__file__).parents[1]
PROFILES = ROOT / "bench" / "profiles"
PY_SPY = ROOT / ".venv" / "bin" / "py-spy"
BEGIN = "<!-- profile:begin -->"
END = "<!-- profile:end -->"

#: (part, path fragments): a sample belongs to the deepest frame that matches one.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("web server, event loop", ("sanic/", "asyncio/", "uvloop")),
    ("Rasa's turn handling", ("rasa/core/processor", "rasa/core/agent")),
    ("NLU (tokenizer, featurizers, DIET)", ("rasa/nlu/", "rasa/engine/")),
    ("policies (TED, rules, memo)", ("rasa/core/policies/", "rasa/core/featurizers")),
    (
        "tracker (de)serialisation and events",
        ("rasa/shared/core/trackers", "rasa/shared/core/events", "stores/", "json/"),
    ),
    (
        "action server round trip",
        ("rasa/core/actions/", "aiohttp/", "rasa/utils/endpoints"),
    ),
    ("this project's channel and Redis", ("connectors/", "redisio/", "redis/")),
    ("TensorFlow, NumPy (called from the above)", ("tensorflow/", "keras/", "numpy/")),
]


def part_of(stack: str) -> str:
    found = "other"
    for frame in stack.split(";"):
        for part, fragments in PARTS:
            if any(f in frame for f in fragments):
                if part.startswith("TensorFlow") and found != "other":
                    continue  # TF time belongs to whoever called it
                found = part
    return found


def shares(raw: Path) -> Counter[str]:
    """Samples per part, from py-spy's raw (collapsed) stacks."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if stack and samples.isdigit():
            counts[part_of(stack)] += int(samples)
    return counts


def booking_texts(k: int) -> list[str]:
    day = date.today() + timedelta(days=2 + k % 20)
    return [
        "I'd like to book a cleaning",
        f"{day.month}/{day.day} at {9 + k % 7}am",
        "Sam Lee",
        "N",
        "never mind",
    ]


async def phone(
    http: aiohttp.ClientSession, emulator: str, k: int, scenario: str, until: float
) -> int:
    number, after, turns = f"+1415558{k:04d}", 0, 0
    texts = booking_texts(k) if scenario == "booking" else list(QUESTIONS)
    while time.monotonic() < until:
        body = texts[turns % len(texts)]
        turns += 1
        payload = {"from": number, "to": BUSINESS, "body": body}
        async with http.post(f"{emulator}/_emulator/inbound", json=payload) as r:
            await r.read()
        params = {"to": number, "after": str(after), "wait": "30"}
        async with http.get(f"{emulator}/_emulator/messages", params=params) as r:
            found = (await r.json())["messages"]
        if found:
            after = max(after, *(m["index"] for m in found))
    return turns


async def drive(stack: SmsStack, scenario: str, phones: int, seconds: float) -> int:
    until = time.monotonic() + seconds
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as http:
        done = await asyncio.gather(
            *(phone(http, stack.emulator, k, scenario, until) for k in range(phones))
        )
    return sum(done)


def record(
    pid: int, scenario: str, seconds: float, stack: SmsStack, phones: int
) -> tuple[Counter[str], int]:
    PROFILES.mkdir(parents=True, exist_ok=True)
    raw = PROFILES / f"{scenario}.txt"
    spies = [
        subprocess.Popen(  # noqa: S603 - py-spy from the venv
            [str(PY_SPY), "record", "--pid", str(pid), "--rate", "100"]
            + ["--duration", str(int(seconds)), "--nonblocking"]
            + ["--format", fmt, "--output", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fmt, out in (("flamegraph", PROFILES / f"{scenario}.svg"), ("raw", raw))
    ]
    turns = asyncio.run(drive(stack, scenario, phones, seconds))
    for spy in spies:
        spy.wait(timeout=60)
    return shares(raw), turns


def write_section(
    results: dict[str, tuple[Counter[str], int]], command: str, seconds: float
) -> None:
    names = [p for p, _ in PARTS] + ["other"]
    header = " | ".join(
        f"{s} ({t / seconds:.1f} turns/s)" for s, (_, t) in results.items()
    )
    rows = []
    for name in names:
        cells = []
        for counts, _turns in results.values():
            total = sum(counts.values()) or 1
            cells.append(f"{100 * counts[name] / total:.0f} %")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    section = f"""{BEGIN}
## Where a turn's CPU goes (py-spy)

`{command}` ({time.strftime("%Y-%m-%d")}): one Rasa process behind the ingress, 0 ms
API latency, {seconds:g} s per scenario, py-spy at 100 Hz on the Rasa process (active
samples only). A sample counts for the deepest frame of a part in its stack, except
TensorFlow and NumPy, which count for the part that called them. Flame graphs:
`bench/profiles/*.svg`.

| part | {header} |
| --- | {" | ".join("---" for _ in results)} |
{chr(10).join(rows)}
{END}"""
    replace_section(section, BEGIN, END)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    results: dict[str, tuple[Counter[str], int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = RedisServer(parent=Path(tmp))
        stack = SmsStack(redis_server, Path(tmp), ingress=True)
        try:
            stack.start()
            pid = stack.processes["rasa"].pid
            asyncio.run(drive(stack, "faq", 2, 5))  # warm up
            for scenario in ("faq", "booking"):
                results[scenario] = record(
                    pid, scenario, args.seconds, stack, args.phones
                )
                counts, turns = results[scenario]
                total = sum(counts.values()) or 1
                print(scenario, turns, "turns")
                for name, n in counts.most_common():
                    print(f"  {name:45s} {100 * n / total:5.1f} %")
        finally:
            stack.stop()
            redis_server.stop()
    if not args.no_write:
        command = f"python -m bench.profile_turns --phones {args.phones} --seconds {args.seconds:g}"
        write_section(results, command, args.seconds)


if __name__ == "__main__":
    main()
