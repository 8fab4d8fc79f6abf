"""Throughput and fairness, side by side: Rasa's built-in Twilio channel (R), this
project with one and with two Rasa processes (P1, P2), and the in-process ceiling.

Each closed-loop phone texts an FAQ question through a signed webhook (the local
Twilio emulator posts it, as Twilio would), waits for the answer to reach it, and
texts again at once. For each setup, phone count and Twilio API latency it reports
replies per second, the reply time (text posted -> answer at the phone) p50/p95/max,
replies later than 30 s or never, the webhook's answer time p50/p99 (as the emulator
measured it) and the Rasa processes' CPU; then the ratios the issue asks for.

    make bench                                   # everything, 14-17 minutes
    .venv/bin/python -m bench.throughput --setups P1 P2 --phones 50 --latency-ms 150

Setups: R = Rasa 3.6's `twilio` channel (bench/baseline_channel.py: only Twilio's
host is redirected) with Rasa's RedisTrackerStore; P1/P2 = `make run`'s layout (the
ingress answers Twilio, 1 or 2 Rasa processes run turns); P1-direct/P2-direct =
Twilio pointed at the Rasa server itself; ceiling = bench/ceiling.py. Writes
bench/results/throughput.json and its section of bench/RESULTS.md. Not part of
`make test`: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.results_md import replace_section
from bench.soak import QUESTIONS  # the same FAQ texts as the soak
from tools.harness.processes import spawn
from tools.harness.redis_server import RedisServer, free_port
from tools.harness.sms_stack import AUTH_TOKEN, BIN, BUSINESS, SmsStack, wait_for

ROOT = Path(__file__).parents[1]
RAW = ROOT / "bench" / "results"
BEGIN = "<!-- throughput:begin -->"
END = "<!-- throughput:end -->"
LATE_SECONDS = 30.0
#: name -> SmsStack options. R keeps Rasa's own stores: the tracker store in Redis
#: (as in the issue's baseline), the lock store in memory (one process).
SETUPS: dict[str, dict[str, object]] = {
    "R": {
        "channel": "twilio",
        "tracker_store": "redis",
        "lock_store": "in_memory",
    },
    "P1": {"ingress": True, "sanic_workers": 1},
    "P2": {"ingress": True, "sanic_workers": 2},
    "P1-direct": {"sanic_workers": 1},
    "P2-direct": {"sanic_workers": 2},
}


@dataclass
class Run:
    setup: str
    phones: int
    latency_ms: int
    seconds: float
    replies: int = 0
    unanswered: int = 0
    webhook_failed: int = 0  # no 2xx (a timeout: Twilio would retry or give up)
    reply_s: list[float] = field(default_factory=list)
    webhook_ms: list[float] = field(default_factory=list)
    rasa_cpu: float = 0.0  # share of one core over the run
    probe: dict[str, object] = field(default_factory=dict)  # bench.webhook_probe

    def row(self) -> dict[str, object]:
        replies = sorted(self.reply_s)
        hooks = sorted(self.webhook_ms)
        return {
            "setup": self.setup,
            "phones": self.phones,
            "latency_ms": self.latency_ms,
            "msg_per_s": round(self.replies / self.seconds, 2),
            "reply_p50_s": round(_pct(replies, 50), 2),
            "reply_p95_s": round(_pct(replies, 95), 2),
            "reply_max_s": round(replies[-1], 2) if replies else 0.0,
            "late": sum(1 for r in replies if r > LATE_SECONDS) + self.unanswered,
            "webhook_failed": self.webhook_failed,
            "webhook_p50_ms": round(_pct(hooks, 50), 1),
            "webhook_p99_ms": round(_pct(hooks, 99), 1),
            "rasa_cpu": round(self.rasa_cpu, 2),
            "probe_p50_ms": self.probe.get("p50_ms"),
            "probe_p99_ms": self.probe.get("p99_ms"),
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
        if not 200 <= (posted.get("status") or 0) < 300:
            run.webhook_failed += 1
        elif started < until:
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


async def drive(
    stack: SmsStack, setup: str, phones: int, latency_ms: int, seconds: float
) -> Run:
    stack.emulator_config(latency_ms=latency_ms)
    run = Run(setup, phones, latency_ms, seconds)
    rasa = stack.processes["rasa"].pid
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        cpu_before = _group_cpu_seconds(rasa)
        until = time.monotonic() + seconds
        # R's webhook runs a whole turn per post, so R is not probed.
        prober = (
            None
            if stack.channel == "twilio"
            else await asyncio.create_subprocess_exec(
                str(BIN / "python"),
                "-m",
                "bench.webhook_probe",
                "--url",
                stack.webhook,
                "--auth-token",
                AUTH_TOKEN,
                "--seconds",
                str(seconds),
                stdout=asyncio.subprocess.PIPE,
            )
        )
        numbers = [f"+1415556{k:04d}" for k in range(phones)]
        await asyncio.gather(
            *(
                phone(http, stack.emulator, n, run, until, k)
                for k, n in enumerate(numbers)
            )
        )
        run.rasa_cpu = (_group_cpu_seconds(rasa) - cpu_before) / seconds
        if prober is not None:
            out, _ = await prober.communicate()
            run.probe = json.loads(out.decode().strip().splitlines()[-1])
    return run


def run_setup(setup: str, args: argparse.Namespace) -> list[dict[str, object]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = RedisServer(parent=Path(tmp))
        stack = SmsStack(redis_server, Path(tmp), **SETUPS[setup])  # type: ignore[arg-type]
        try:
            stack.start()
            for latency in args.latency_ms:
                for phones in args.phones:
                    run = asyncio.run(
                        drive(stack, setup, phones, latency, args.seconds)
                    )
                    rows.append(run.row())
                    print(json.dumps(rows[-1]), flush=True)
        finally:
            stack.stop()
            redis_server.stop()
    return rows


def run_ceiling(args: argparse.Namespace) -> list[dict[str, object]]:
    """bench/ceiling.py in its own process, with an action server of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        actions = spawn(
            Path(tmp),
            "actions",
            [str(BIN / "rasa"), "run", "actions", "--actions", "actions"]
            + ["--port", str(port)],
            {"SANIC_HOST": "127.0.0.1"},
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/health", [actions])
            out = subprocess.run(  # noqa: S603 - the bench's own module
                [str(BIN / "python"), "-m", "bench.ceiling"]
                + ["--action-url", f"http://127.0.0.1:{port}/webhook"]
                + ["--phones", *map(str, args.phones), "--seconds", str(args.seconds)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        finally:
            actions.terminate()
            actions.wait(timeout=15)
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    for row in rows:
        print(json.dumps(row), flush=True)
    return rows


def _find(
    rows: list[dict[str, object]], setup: str, phones: int, latency: int | None
) -> dict[str, object] | None:
    for r in rows:
        if r["setup"] == setup and r["phones"] == phones:
            if latency is None or r.get("latency_ms") == latency:
                return r
    return None


def _ratio(top: object, bottom: object) -> str:
    a, b = float(str(top)), float(str(bottom))
    return f"{a / b:.2f}x" if b else "-"


def comparison(rows: list[dict[str, object]]) -> str:
    """The issue's table: R against P1 and P2, and P1 against the ceiling."""
    lines = [
        "| API latency | phones | R replies/s | P1 | P2 | P1/R | P2/R | P2/P1 | "
        "ceiling turns/s | P1/ceiling | P2 reply p50 / p95 | "
        "P2 webhook p50 / p99: emulator | probe |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    keys = sorted(
        {
            (int(str(r["latency_ms"])), int(str(r["phones"])))
            for r in rows
            if "latency_ms" in r
        }
    )
    for latency, phones in keys:
        r, p1, p2 = (_find(rows, s, phones, latency) for s in ("R", "P1", "P2"))
        top = _find(rows, "ceiling", phones, None)

        def get(row: dict[str, object] | None, key: str) -> str:
            return "-" if row is None else str(row[key])

        lost = f" ({r['late']} late)" if r and int(str(r["late"])) else ""
        lines.append(
            f"| {latency} ms | {phones} | {get(r, 'msg_per_s')}{lost} | "
            f"{get(p1, 'msg_per_s')} | {get(p2, 'msg_per_s')} | "
            + " | ".join(
                _ratio(a["msg_per_s"], b["msg_per_s"]) if a and b else "-"
                for a, b in ((p1, r), (p2, r), (p2, p1))
            )
            + f" | {get(top, 'turns_per_s')} | "
            + (_ratio(p1["msg_per_s"], top["turns_per_s"]) if p1 and top else "-")
            + f" | {get(p2, 'reply_p50_s')} / {get(p2, 'reply_p95_s')} s"
            + f" | {get(p2, 'webhook_p50_ms')} / {get(p2, 'webhook_p99_ms')} ms"
            + f" | {get(p2, 'probe_p50_ms')} / {get(p2, 'probe_p99_ms')} ms |"
        )
    return "\n".join(lines)


def write_section(rows: list[dict[str, object]], command: str) -> None:
    runs = [r for r in rows if "latency_ms" in r]
    lines = "\n".join(
        f"| {r['setup']} | {r['phones']} | {r['latency_ms']} | {r['msg_per_s']} | "
        f"{r['reply_p50_s']} / {r['reply_p95_s']} / {r['reply_max_s']} s | "
        f"{r['late']} | {r['webhook_failed']} | "
        f"{r['webhook_p50_ms']} / {r['webhook_p99_ms']} ms | "
        f"{r.get('probe_p50_ms') or '-'} / {r.get('probe_p99_ms') or '-'} ms | "
        f"{float(str(r['rasa_cpu'])) * 100:.0f} % |"
        for r in runs
    )
    section = f"""{BEGIN}
## Throughput and fairness: R, P1, P2 and the ceiling

`{command}` ({time.strftime("%Y-%m-%d")}, {len(runs)} runs). Each phone texts an FAQ
question through a signed webhook, waits for the answer, texts again. R: Rasa 3.6's
`twilio` channel (Twilio's host redirected to the emulator, Rasa's RedisTrackerStore).
P1, P2: `make run`'s layout (connectors.ingress answers Twilio; 1 or 2 Rasa
processes run the turns). "-direct": Twilio pointed at the Rasa server itself.
ceiling: bench/ceiling.py, the model in-process with no HTTP and in-memory stores.
"late": replies after 30 s or none; "hook failed": the webhook gave no 2xx within
Twilio's 15 s. Webhook times two ways: as the emulator measured its posts (its own
event loop also serves every phone's long poll and the replies, and adds its
backlog), and as bench/webhook_probe.py saw them, a process that does nothing but
post a signed duplicate text 10 times a second (the whole webhook path without an
extra turn; R is not probed: each post would be a turn). Rasa CPU: share of one
core, all of its processes.

{comparison(rows)}

| setup | phones | API latency ms | replies/s | reply p50 / p95 / max | late | hook failed | webhook p50 / p99 (emulator) | webhook p50 / p99 (probe) | Rasa CPU |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{lines}
{END}"""
    replace_section(section, BEGIN, END)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--setups",
        nargs="*",
        choices=[*SETUPS, "ceiling"],
        default=["R", "P1", "P2", "ceiling"],
    )
    parser.add_argument("--phones", type=int, nargs="*", default=[1, 10, 50])
    parser.add_argument("--latency-ms", type=int, nargs="*", default=[0, 150])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    command = " ".join(["python -m bench.throughput", *sys.argv[1:]])
    if len(sys.argv) == 1:
        command = "make bench`, i.e. `" + command + "` with its defaults"
    started = time.monotonic()
    rows: list[dict[str, object]] = []
    for setup in args.setups:
        rows += run_ceiling(args) if setup == "ceiling" else run_setup(setup, args)
    print(comparison(rows))
    print(f"bench took {(time.monotonic() - started) / 60:.1f} min")
    if not args.no_write:
        RAW.mkdir(parents=True, exist_ok=True)
        (RAW / "throughput.json").write_text(json.dumps(rows, indent=2) + "\n")
        write_section(rows, command)


if __name__ == "__main__":
    main()
