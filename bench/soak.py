"""`make soak`: two replicas, 20 phones, 5 minutes of faults; what was lost or doubled.

Real processes: the local Twilio emulator, one action server, two `rasa run`
replicas on one redis-server (append-only). While 20 phones text FAQ questions
(each waits for its answer, then texts again):

- the emulator answers 20 % of sends with 20429 and 2 % with 500 (a 500 that
  Twilio may or may not have sent: the emulator's `ambiguous_500_sends`);
- every 60 s one replica is SIGKILLed (they take turns) and started again; while
  the one Twilio's webhook points at is down, the webhook is pointed at the other,
  as a load balancer's health check would;
- once, Redis is paused for 3 s (`CLIENT PAUSE`).

A text whose webhook did not get 200 is posted again with the same MessageSid, as
Twilio retries. After the faults stop, the queues drain. Then it counts, per phone,
texts sent (webhooks acknowledged) against answers received (the emulator's record
of what reached the phone), turns run twice (the same MessageSid twice in the
conversation's tracker) and keys left with no TTL that are not bounded otherwise.

    make soak                                  # 5 minutes of faults, ~8 min total
    .venv/bin/python -m bench.soak --seconds 60 --phones 5    # a quick look

Writes bench/results/soak.json and its section of bench/RESULTS.md; exit 1 if a
text was lost or a turn ran twice.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import redis as redis_sync  # the soak drives from outside, like the tests

from bench.results_md import replace_section
from redisio import keys as redis_keys
from tools.harness.redis_server import RedisServer, free_port
from tools.harness.sms_stack import BUSINESS, SmsStack, http
from tools.keyspace import audit_keys

ROOT = Path(__file__).parents[1]
RAW = ROOT / "bench" / "results"
BEGIN = "<!-- soak:begin -->"
END = "<!-- soak:end -->"
QUESTIONS = (
    "what are your hours",
    "where are you located",
    "is there parking",
    "what services do you offer",
    "do you take insurance",
)


@dataclass
class Phone:
    number: str
    sent: list[str] = field(default_factory=list)  # MessageSids acknowledged 200
    retried_webhooks: int = 0
    unanswered_waits: int = 0


@dataclass
class Figures:
    seconds: int
    phones: int
    texts_sent: int = 0
    texts_answered: int = 0
    replies_duplicated: int = 0
    replies_lost: int = 0
    turns_run_twice: int = 0
    webhook_retries: int = 0
    replica_kills: int = 0
    redis_pauses: int = 0
    keys_without_ttl: list[str] = field(default_factory=list)
    per_phone: dict[str, dict[str, int]] = field(default_factory=dict)


class Soak:
    def __init__(self, seconds: int, phones: int, seed: int) -> None:
        self.seconds, self.seed = seconds, seed
        self.random = random.Random(seed)
        self.server = RedisServer(appendonly=True)
        self.workdir = Path(tempfile.mkdtemp(prefix="soak-"))
        self.stack = SmsStack(
            self.server,
            self.workdir,
            db=0,
            settings={"inactivity_warning_after_seconds": 0},
        )
        self.replicas = {"rasa": self.stack.rasa_port, "rasa2": free_port()}
        self.phones = [Phone(f"+1415557{i:04d}") for i in range(phones)]
        self.stop = threading.Event()
        self.kills = self.pauses = 0

    # --- the stack -----------------------------------------------------------

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.replicas[name]}/webhooks/twilio_sms/webhook"

    def start(self) -> None:
        self.stack.start()
        self.stack.start_rasa("rasa2", self.replicas["rasa2"])
        self.stack.emulator_config(
            signing_url=self.stack.webhook,  # what Twilio signs: the public URL
            seed=self.seed,
        )

    def faults(self, on: bool) -> None:
        failures = {"20429": 0.2, "500": 0.02} if on else {}
        self.stack.emulator_config(failures=failures)

    # --- the phones ----------------------------------------------------------

    def post(self, phone: Phone, body: str, sid: str) -> bool:
        status, result = http(
            "POST",
            f"{self.stack.emulator}/_emulator/inbound",
            {"from": phone.number, "to": BUSINESS, "body": body, "message_sid": sid},
            timeout=30,
        )
        return status == 200 and isinstance(result, dict) and result["status"] == 200

    def answers(self, phone: Phone) -> int:
        return len(self.stack.sent_to(phone.number))

    def texting(self, phone: Phone, rng: random.Random) -> None:
        while not self.stop.is_set():
            before = self.answers(phone)
            sid = "SM" + uuid.uuid4().hex
            body = rng.choice(QUESTIONS)
            deadline = time.monotonic() + 120
            while not self.post(phone, body, sid):  # Twilio retries, same SID
                phone.retried_webhooks += 1
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{phone.number}: webhook down for 2 min")
                time.sleep(1)
            phone.sent.append(sid)
            waited = time.monotonic() + 45
            while self.answers(phone) <= before and time.monotonic() < waited:
                time.sleep(0.5)
            if self.answers(phone) <= before:
                phone.unanswered_waits += 1
            time.sleep(rng.uniform(0.5, 3))

    # --- the faults ----------------------------------------------------------

    def chaos(self) -> None:
        started = time.monotonic()
        victims = ["rasa2", "rasa"]
        paused = False
        next_kill = 60.0
        while not self.stop.is_set():
            elapsed = time.monotonic() - started
            if not paused and elapsed >= self.seconds / 2:
                redis_sync.Redis(port=self.server.port).execute_command(
                    "CLIENT", "PAUSE", 3000, "ALL"
                )
                self.pauses, paused = self.pauses + 1, True
            if elapsed >= next_kill:
                victim = victims[self.kills % 2]
                other = victims[(self.kills + 1) % 2]
                if victim == "rasa":
                    self.stack.emulator_config(webhook_url=self.url(other))
                self.stack.kill(victim, signal.SIGKILL)
                self.kills += 1
                self.stack.start_rasa(victim, self.replicas[victim])
                self.stack.emulator_config(webhook_url=self.url("rasa"))
                next_kill += 60
            self.stop.wait(0.5)

    # --- the run -------------------------------------------------------------

    def run(self) -> Figures:
        self.start()
        self.faults(True)
        threads = [
            threading.Thread(
                target=self.texting,
                args=(phone, random.Random(self.seed + i)),
                daemon=True,
            )
            for i, phone in enumerate(self.phones)
        ]
        chaos = threading.Thread(target=self.chaos, daemon=True)
        for thread in [*threads, chaos]:
            thread.start()
        time.sleep(self.seconds)
        self.stop.set()
        chaos.join()
        for thread in threads:
            thread.join(timeout=180)
        self.faults(False)
        self.drain()
        return self.count()

    def drain(self, timeout: float = 900) -> None:
        """Until every queue is empty and every reply awaiting a retry went out."""
        client = redis_sync.Redis.from_url(self.stack.redis_url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if client.zcard(redis_keys.WORK) == 0 and not any(
                client.scan_iter(redis_keys.queue("*"), count=1000)
            ):
                time.sleep(5)  # replies being sent after the last ack
                return
            time.sleep(1)
        print("warning: queues still not empty after the drain", file=sys.stderr)

    def count(self) -> Figures:
        figures = Figures(self.seconds, len(self.phones))
        for phone in self.phones:
            received = self.answers(phone)
            sent = len(phone.sent)
            twice = sum(
                n - 1
                for n in Counter(
                    e.get("message_id")
                    for e in self.stack.tracker(phone.number)["events"]
                    if e["event"] == "user"
                ).values()
                if n > 1
            )
            figures.texts_sent += sent
            figures.texts_answered += min(sent, received)
            figures.replies_lost += max(0, sent - received)
            figures.replies_duplicated += max(0, received - sent)
            figures.turns_run_twice += twice
            figures.webhook_retries += phone.retried_webhooks
            figures.per_phone[phone.number] = {
                "sent": sent,
                "received": received,
                "turns_twice": twice,
            }
        figures.replica_kills, figures.redis_pauses = self.kills, self.pauses
        if figures.replies_lost:
            self.explain_losses()
        figures.keys_without_ttl = audit_keys(
            [self.server.url_for(db) for db in (self.stack.db, self.stack.db + 1)]
        )
        return figures

    def explain_losses(self) -> None:
        """For each phone with fewer answers than texts: what Redis holds for each
        of its texts (reply record, part records, queue), in
        bench/results/soak-losses.json, before the stack and its Redis go."""
        client = redis_sync.Redis.from_url(self.stack.redis_url, decode_responses=True)
        report: dict[str, object] = {}
        for phone in self.phones:
            received = self.answers(phone)
            if received >= len(phone.sent):
                continue
            tag = f"sms:{{{phone.number}}}"
            turns = [
                e.get("message_id")
                for e in self.stack.tracker(phone.number)["events"]
                if e["event"] == "user"
            ]
            texts = {}
            for sid in phone.sent:
                parts = {
                    key: client.get(key)
                    for key in client.scan_iter(f"{tag}:part:{sid}*", count=1000)
                }
                texts[sid] = {
                    "turns_in_tracker": turns.count(sid),
                    "reply": client.hgetall(f"{tag}:reply:{sid}"),
                    "parts": parts,
                }
            report[phone.number] = {
                "sent": len(phone.sent),
                "received": received,
                "queue": client.lrange(f"{tag}:queue", 0, -1),
                "texts": {
                    sid: entry
                    for sid, entry in texts.items()
                    if entry["turns_in_tracker"] != 1
                    or not entry["reply"]
                    or not entry["parts"]
                    or any(
                        "sending" in str(v) or '"failed"' in str(v)
                        for v in entry["parts"].values()
                    )
                },
                "failed_sends": client.lrange(redis_keys.FAILED_SENDS, 0, 50),
                "dead_letters": client.lrange(redis_keys.DEAD_LETTERS, 0, 50),
            }
        RAW.mkdir(parents=True, exist_ok=True)
        (RAW / "soak-losses.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"losses explained in {RAW / 'soak-losses.json'}", file=sys.stderr)

    def close(self) -> None:
        try:
            self.stack.stop()
        finally:
            self.server.stop()


def write_section(figures: Figures, command: str) -> None:
    rows = "\n".join(
        f"| {label} | {value} |"
        for label, value in (
            ("texts sent (webhooks answered 200)", figures.texts_sent),
            ("texts answered", figures.texts_answered),
            ("replies lost", figures.replies_lost),
            ("replies duplicated", figures.replies_duplicated),
            ("turns run twice", figures.turns_run_twice),
            ("webhooks Twilio had to retry", figures.webhook_retries),
            ("replica SIGKILLs", figures.replica_kills),
            ("Redis pauses of 3 s", figures.redis_pauses),
            (
                "keys without a TTL or a bound",
                len(figures.keys_without_ttl) or "0",
            ),
        )
    )
    section = f"""{BEGIN}
## Soak: two replicas, {figures.phones} phones, {figures.seconds} s of faults

`{command}` ({time.strftime("%Y-%m-%d")}). Sends fail 20 % with 20429 and 2 % with
500 (Twilio may or may not have sent those); a replica is SIGKILLed every 60 s and
restarted; Redis is paused for 3 s once; a webhook that did not get 200 is retried
with the same MessageSid. Counted after the queues drained.

| | |
| --- | --- |
{rows}
{END}"""
    replace_section(section, BEGIN, END)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--phones", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    soak = Soak(args.seconds, args.phones, args.seed)
    try:
        figures = soak.run()
    finally:
        soak.close()
    RAW.mkdir(parents=True, exist_ok=True)
    (RAW / "soak.json").write_text(json.dumps(asdict(figures), indent=2) + "\n")
    command = "make soak"
    if (args.seconds, args.phones) != (300, 20):
        command = (
            f".venv/bin/python -m bench.soak --seconds {args.seconds} "
            f"--phones {args.phones}"
        )
    write_section(figures, command)
    summary = {k: v for k, v in asdict(figures).items() if k != "per_phone"}
    print(json.dumps(summary, indent=2))
    sys.exit(1 if figures.replies_lost or figures.turns_run_twice else 0)


if __name__ == "__main__":
    main()
