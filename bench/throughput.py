"""Throughput and fairness of the SMS channel: closed-loop phones against the real
stack (the local Twilio emulator, the action server, one `rasa run`, Redis).

Each phone texts an FAQ question through a signed webhook (the emulator posts it,
as Twilio would), waits for the answer to reach it, and texts again at once. For
each (phones, Twilio API latency) it reports replies per second, the reply time
(text posted → answer at the phone) p50/p95/max, replies later than 30 s, the
webhook's answer time p50/p99 (as the emulator measured it) and the Rasa
process's CPU.

    .venv/bin/python -m bench.throughput                       # N=1,10,50 x 0,150 ms
    .venv/bin/python -m bench.throughput --workers 1 2 --phones 50 --latency-ms 150

Writes bench/results/throughput.json and its section of bench/RESULTS.md. Not part
of `make test`: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.results_md import replace_section
from bench.soak import QUESTIONS  # the same FAQ texts as the soak
from tools.harness.redis_server import RedisServer
from tools.harness.sms_stack import BUSINESS, SmsStack

ROOT = Path(__file__).parents[1]
RAW = ROOT / "bench" / "results"
BEGIN = "<!-- throughput:begin -->"
END = "<!-- throughput:end -->"
LATE_SECONDS = 30.0


@dataclass
class Run:
    workers: int
    phones: int
    latency_ms: int
    seconds: float
    replies: int = 0
    unanswered: int = 0
    reply_s: list[float] = field(default_factory=list)
    webhook_ms: list[float] = field(default_factory=list)
    rasa_cpu: float = 0.0  # share of one core over the run

    def row(self) -> dict[str, object]:
        replies = sorted(self.reply_s)
        hooks = sorted(self.webhook_ms)
        return {
            "workers": self.workers,
            "phones": self.phones,
            "latency_ms": self.latency_ms,
            "msg_per_s": round(self.replies / self.seconds, 2),
            "reply_p50_s": round(_pct(replies, 50), 2),
            "reply_p95_s": round(_pct(replies, 95), 2),
            "reply_max_s": round(replies[-1], 2) if replies else 0.0,
            "late": sum(1 for r in replies if r > LATE_SECONDS) + self.unanswered,
            "webhook_p50_ms": round(_pct(hooks, 50), 1),
            "webhook_p99_ms": round(_pct(hooks, 99), 1),
            "rasa_cpu": round(self.rasa_cpu, 2),
        }


def _pct(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def _group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (Linux /proc):
    `rasa run` and, with SANIC_WORKERS, its server processes."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            ticks += int(fields[11]) + int(fields[12])  # utime stime
    return ticks / 100.0


async def phone(
    http: aiohttp.ClientSession,
    emulator: str,
    number: str,
    run: Run,
    until: float,
    k: int,
) -> None:
    after = 0
    turn = 0
    while time.monotonic() < until:
        body = QUESTIONS[(k + turn) % len(QUESTIONS)]
        turn += 1
        started = time.monotonic()
        payload = {
            "from": number,
            "to": BUSINESS,
            "body": body,
            "message_sid": "SM" + uuid.uuid4().hex,
        }
        async with http.post(f"{emulator}/_emulator/inbound", json=payload) as r:
            posted = await r.json()
        if posted.get("status") != 200:
            raise RuntimeError(f"webhook answered {posted.get('status')}")
        if started < until:
            run.webhook_ms.append(float(posted["elapsed_ms"]))
        params = {"to": number, "after": str(after), "wait": "60"}
        async with http.get(f"{emulator}/_emulator/messages", params=params) as r:
            found = await r.json()
        if not found["messages"]:
            run.unanswered += 1
            continue
        after = max(after, *(m["index"] for m in found["messages"]))
        if started < until:
            run.replies += 1
            run.reply_s.append(time.monotonic() - started)


async def drive(stack: SmsStack, phones: int, latency_ms: int, seconds: float) -> Run:
    stack.emulator_config(latency_ms=latency_ms)
    run = Run(stack.sanic_workers, phones, latency_ms, seconds)
    rasa = stack.processes["rasa"].pid
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        cpu_before = _group_cpu_seconds(rasa)
        until = time.monotonic() + seconds
        numbers = [f"+1415556{k:04d}" for k in range(phones)]
        await asyncio.gather(
            *(
                phone(http, stack.emulator, n, run, until, k)
                for k, n in enumerate(numbers)
            )
        )
        run.rasa_cpu = (_group_cpu_seconds(rasa) - cpu_before) / seconds
    return run


def write_section(rows: list[dict[str, object]], command: str) -> None:
    lines = "\n".join(
        f"| {r['workers']} | {r['phones']} | {r['latency_ms']} | {r['msg_per_s']} | "
        f"{r['reply_p50_s']} / {r['reply_p95_s']} / {r['reply_max_s']} s | "
        f"{r['late']} | {r['webhook_p50_ms']} / {r['webhook_p99_ms']} ms | "
        f"{float(str(r['rasa_cpu'])) * 100:.0f} % |"
        for r in rows
    )
    section = f"""{BEGIN}
## Throughput and fairness: closed-loop phones

`{command}` ({time.strftime("%Y-%m-%d")}). Each phone texts an FAQ question through
a signed webhook, waits for the answer, texts again. "late": replies after 30 s or
none. Rasa CPU: share of one core, all of its processes. workers: Rasa's own
multi-process mode (`SANIC_WORKERS`).

| workers | phones | API latency ms | replies/s | reply p50 / p95 / max | late | webhook p50 / p99 | Rasa CPU |
| --- | --- | --- | --- | --- | --- | --- | --- |
{lines}
{END}"""
    replace_section(section, BEGIN, END)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, nargs="*", default=[1, 10, 50])
    parser.add_argument("--latency-ms", type=int, nargs="*", default=[0, 150])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--workers", type=int, nargs="*", default=[1], help="SANIC_WORKERS values"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    command = "python -m bench.throughput " + " ".join(sys.argv[1:])
    rows = []
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as tmp:
            redis_server = RedisServer(parent=Path(tmp))
            stack = SmsStack(redis_server, Path(tmp), sanic_workers=workers)
            try:
                stack.start()
                for latency in args.latency_ms:
                    for phones in args.phones:
                        run = asyncio.run(drive(stack, phones, latency, args.seconds))
                        rows.append(run.row())
                        print(json.dumps(rows[-1]), flush=True)
            finally:
                stack.stop()
                redis_server.stop()
    if not args.no_write:
        RAW.mkdir(parents=True, exist_ok=True)
        (RAW / "throughput.json").write_text(json.dumps(rows, indent=2) + "\n")
        write_section(rows, command)


if __name__ == "__main__":
    main()
