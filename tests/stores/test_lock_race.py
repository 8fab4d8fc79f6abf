"""Two Rasa servers, one Redis, one customer texting 20 times at once: with
RedisTicketLockStore the turns run one after another and the tracker holds each text
once, in order.

Real processes: one action server, two `rasa run --enable-api` replicas on loopback
ports with the trained model and Rasa's own `type: redis` tracker store, texts through
Rasa's REST channel, half to each replica. Needs models/assistant.tar.gz. A light
version without Rasa servers races the two lock stores from two threads: ours meets
the bar, Rasa's RedisLockStore does not.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from threading import Barrier, Lock, Thread
from typing import Any

import pytest
import redis as redis_sync  # test side only: the servers under test use redis.asyncio
from rasa.core.lock_store import LockError, LockStore, RedisLockStore

from stores.lock_store import RedisTicketLockStore
from tools.business_folder import business_folder
from tools.harness.processes import spawn
from tools.harness.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
MODEL = business_folder().model
BIN = ROOT / ".venv" / "bin"
CUSTOMER = "+14155550199"
ACTIONS_DB, OURS_DB, THREADS_DB = 12, 13, 15
TEXTS = [
    "hi", "hello", "hey there", "hi there", "hiya", "good morning",
    "good afternoon", "good evening", "hello there", "howdy", "greetings", "heya",
    "thanks", "thank you", "thanks a lot", "are you a bot", "am i talking to a bot",
    "are you human", "bye", "goodbye",
]  # fmt: skip

needs_model = pytest.mark.skipif(
    not MODEL.exists(), reason="models/assistant.tar.gz missing: run `make train`"
)


def http(method: str, url: str, body: Any = None, timeout: float = 180) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data, {"Content-Type": "application/json"}, method=method
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.load(response)


@dataclass
class Processes:
    """Started with their own process group, so teardown stops their children too."""

    logs: Path
    running: dict[str, subprocess.Popen] = field(default_factory=dict)

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.running[name] = spawn(self.logs, name, args, env)

    def wait_for(self, url: str, timeout: float = 400) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.running.items():
                assert process.poll() is None, f"{name} exited: {self.tail(name)}"
            try:
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310
                    return
            except OSError:  # refused, or 409 while the model loads
                time.sleep(1)
        raise TimeoutError(url)

    def tail(self, name: str, size: int | None = 3000) -> str:
        text = (self.logs / f"{name}.log").read_text()
        return text if size is None else text[-size:]

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@pytest.fixture(scope="module")
def action_port(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    """The replicas' action server: action_session_start is a custom action."""
    redis_url = f"redis://127.0.0.1:{redis_server.port}/{ACTIONS_DB}"
    redis_sync.Redis.from_url(redis_url).flushdb()
    port = free_port()
    processes = Processes(tmp_path_factory.mktemp("actions"))
    processes.spawn(
        "actions",
        [str(BIN / "rasa"), "run", "actions", "--actions", "actions"]
        + ["--port", str(port)],
        {"SANIC_HOST": "127.0.0.1", "REDIS_URL": redis_url},
    )
    try:
        processes.wait_for(f"http://127.0.0.1:{port}/health")
        yield port
    finally:
        processes.stop()


def endpoints_yml(redis_port: int, db: int, action_port: int, lock_store: str) -> str:
    redis_keys = f"  url: 127.0.0.1\n  port: {redis_port}\n  db: {db}\n"
    return (
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        f"tracker_store:\n  type: redis\n{redis_keys}"
        f"lock_store:\n  type: {lock_store}\n{redis_keys}"
    )


def race(
    redis_server: RedisServer, action_port: int, workdir: Path, db: int, lock: str
) -> dict[str, Any]:
    """Start two replicas, send the 20 texts at once (alternating replicas), and
    return what the tracker shows."""
    redis_sync.Redis(port=redis_server.port, db=db).flushdb()
    model = workdir / "model.tar.gz"  # a copy: `make train` may replace the original
    shutil.copyfile(MODEL, model)
    (workdir / "credentials.yml").write_text("rest:\n")
    (workdir / "endpoints.yml").write_text(
        endpoints_yml(redis_server.port, db, action_port, lock)
    )
    ports = [free_port(), free_port()]
    processes = Processes(workdir)
    for index, port in enumerate(ports):
        processes.spawn(
            f"rasa{index}",
            [str(BIN / "rasa"), "run", "--enable-api", "--model", str(model)]
            + ["--interface", "127.0.0.1", "--port", str(port)]
            + ["--credentials", str(workdir / "credentials.yml")]
            + ["--endpoints", str(workdir / "endpoints.yml")],
            {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
    try:
        for port in ports:
            processes.wait_for(f"http://127.0.0.1:{port}/status")
        start = Barrier(len(TEXTS))

        def send(index: int) -> tuple[str, float]:
            url = f"http://127.0.0.1:{ports[index % 2]}/webhooks/rest/webhook"
            start.wait()
            try:
                replies = http(
                    "POST", url, {"sender": CUSTOMER, "message": TEXTS[index]}
                )
                outcome = f"{len(replies)} replies"
            except OSError as error:  # HTTPError, refused, timed out
                outcome = f"error: {error}"
            return outcome, time.monotonic()

        began = time.monotonic()
        with ThreadPoolExecutor(len(TEXTS)) as pool:
            sent = list(pool.map(send, range(len(TEXTS))))
        wall = max(done for _, done in sent) - began
        # A raw "+": Sanic does not unquote %2B in a path, so that id would be new.
        tracker = f"http://127.0.0.1:{ports[0]}/conversations/{CUSTOMER}/tracker"
        events = http("GET", tracker)["events"]
    finally:
        processes.stop()
    (workdir / "events.json").write_text(json.dumps(events, indent=1))
    outcomes = [outcome for outcome, _ in sent]
    logs = "".join(processes.tail(name, None) for name in processes.running)
    return {
        "lock_errors": logs.count('"exc_type": "LockError"'),
        "wall": wall,
        "failed": [o for o in outcomes if o.startswith("error")],
        "no_reply": outcomes.count("0 replies"),
        "problems": tracker_problems(events),
        "session_starts": sum(e.get("name") == "action_session_start" for e in events),
    }


def tracker_problems(events: list[dict[str, Any]]) -> list[str]:
    """What shows that turns overlapped or were lost.

    Each `user` event's turn must reach `action_listen` before the next `user`
    event; each text must be there once; a turn's events are stored in time order,
    so a timestamp going back means two turns ran at once.
    """
    problems = []
    open_turn: str | None = None
    for index, event in enumerate(events):
        if event["event"] == "user":
            if open_turn is not None:
                problems.append(f"{event['text']!r} before {open_turn!r} ended")
            open_turn = event["text"]
        elif event["event"] == "action" and event["name"] == "action_listen":
            open_turn = None
        if index and event["timestamp"] < events[index - 1]["timestamp"]:
            problems.append(f"event {index} ({event['event']}) goes back in time")
    if open_turn is not None:
        problems.append(f"{open_turn!r} never reached action_listen")
    texts = [e["text"] for e in events if e["event"] == "user"]
    for text in TEXTS:
        if texts.count(text) != 1:
            problems.append(f"{text!r} stored {texts.count(text)} times")
    return problems


@needs_model
def test_two_replicas_never_run_one_conversations_turns_at_once(
    redis_server: RedisServer, action_port: int, tmp_path: Path
) -> None:
    ours = "stores.lock_store.RedisTicketLockStore"
    result = race(redis_server, action_port, tmp_path, OURS_DB, ours)
    print(f"\nRedisTicketLockStore, 20 texts: {result}")

    assert result["failed"] == []
    assert result["lock_errors"] == 0
    assert result["problems"] == []
    assert result["session_starts"] == 1


def replica_threads(make: Callable[[], LockStore]) -> dict[str, float]:
    """Two replicas as threads (own loop, own store), ten 60 ms sections each. A
    thread blocked on Redis lets the other run, so Rasa's read-modify-write
    interleaves as between processes. A section still waiting after 30 s is stuck:
    Rasa's waiters can poll an emptied blob forever."""
    guard = Lock()
    counts = {"inside": 0, "most": 0, "held": 0, "lock_errors": 0, "stuck": 0}

    async def hold(store: LockStore) -> None:
        async with store.lock(CUSTOMER):
            with guard:
                counts["inside"] += 1
                counts["most"] = max(counts["most"], counts["inside"])
            await asyncio.sleep(0.06)
            with guard:
                counts["inside"] -= 1

    async def section(store: LockStore) -> None:
        outcome = "held"
        try:
            await asyncio.wait_for(hold(store), 30)
        except LockError:
            outcome = "lock_errors"
        except asyncio.TimeoutError:
            outcome = "stuck"
        with guard:
            counts[outcome] += 1

    async def replica() -> None:
        store = make()
        await asyncio.gather(*(section(store) for _ in range(10)))
        if isinstance(store, RedisTicketLockStore):
            await store.close()

    began = time.monotonic()
    threads = [Thread(target=asyncio.run, args=(replica(),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    del counts["inside"]
    return {**counts, "wall": round(time.monotonic() - began, 2)}


def meets_the_bar(result: dict[str, float]) -> bool:
    """All 20 sections held (none lost or stuck), never two inside at once, and
    within the work (20 x 60 ms) plus 2 s."""
    one_at_a_time = (result["most"], result["held"]) == (1, 20)
    return one_at_a_time and result["wall"] < 20 * 0.06 + 2


def test_two_replica_threads_hold_the_lock_one_at_a_time(
    redis_server: RedisServer,
) -> None:
    redis_sync.Redis(port=redis_server.port, db=THREADS_DB).flushdb()
    result = replica_threads(
        lambda: RedisTicketLockStore(
            host="127.0.0.1", port=redis_server.port, db=THREADS_DB
        )
    )
    print(f"\nRedisTicketLockStore, 2 threads x 10 sections of 60 ms: {result}")
    assert meets_the_bar(result), result


def test_rasas_lock_store_misses_the_bar_in_two_replica_threads(
    redis_server: RedisServer,
) -> None:
    """Why we have our own store, measured on the same load: Rasa's RedisLockStore
    (tickets by read-modify-write of one JSON blob, RasaHQ/rasa#9213) lets sections
    overlap, loses or strands waiters, or, if it does none of that, still needs
    seconds: each waiter polls once a second, so 19 waits cannot end within 3.2 s.
    Whichever way it goes, it misses the bar ours meets; which way is printed."""
    redis_sync.Redis(port=redis_server.port, db=THREADS_DB).flushdb()
    result = replica_threads(
        lambda: RedisLockStore(port=redis_server.port, db=THREADS_DB)
    )
    print(f"\nRasa RedisLockStore, 2 threads x 10 sections of 60 ms: {result}")
    assert not meets_the_bar(result), result
