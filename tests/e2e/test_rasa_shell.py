"""`make shell` (scripts/run.sh shell) in a real terminal: `rasa shell` with the
project's Redis tracker and lock stores answers, and the conversation lands in Redis."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import redis as redis_sync

from actions.faq import opening_hours
from redisio import keys as redis_keys
from tests.e2e.business import BIZ
from tools.harness.redis_server import RedisServer, free_port
from tools.harness.sms_stack import FOLDER, MODEL, ROOT

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A child process on a pseudo-terminal, read until a pattern shows up."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self.seen = ""

    def expect(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, ANSI.sub("", self.seen))
            if found:
                return found.group(0)
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:
                    break
            elif self.process.poll() is not None:
                break
        raise AssertionError(f"{pattern!r} not seen; last output:\n{self.seen[-3000:]}")

    def send(self, text: str) -> None:
        os.write(self.master, text.encode() + b"\r")

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        os.close(self.master)


def test_rasa_shell_talks_through_the_projects_stores(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    assert MODEL.exists(), "no trained model: run `make train` first"
    db = 13
    endpoints = tmp_path / "endpoints.yml"
    action_port = free_port()
    store = f"  url: 127.0.0.1\n  port: {redis_server.port}\n  db: {db}\n"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        f"tracker_store:\n  type: stores.tracker_store.RedisSessionTrackerStore\n{store}"
        f"lock_store:\n  type: stores.lock_store.RedisTicketLockStore\n{store}"
    )
    client = redis_sync.Redis.from_url(
        f"redis://127.0.0.1:{redis_server.port}/{db}", decode_responses=True
    )
    client.flushdb()
    env = {
        **os.environ,
        "RASA_PORT": str(free_port()),
        "ACTION_PORT": str(action_port),
        "REDIS_PORT": str(redis_server.port),
        "REDIS_URL": redis_server.url,
        "RASA_ENDPOINTS": str(endpoints),
        "BUSINESS_MODEL": str(MODEL),
        "BUSINESS_FILE": str(FOLDER.business_file),
        "TERM": "xterm",
        "COLUMNS": "200",
    }
    shell = Terminal([str(ROOT / "scripts" / "run.sh"), "shell"], env)
    try:
        shell.expect(r"Bot loaded\. Type a message", timeout=300)
        shell.send("what are your hours")
        shell.expect(re.escape(opening_hours(BIZ)), timeout=120)
        shell.send("/stop")
        shell.process.wait(timeout=60)
    finally:
        shell.close()

    conversations = client.zrange("tracker:conversations", 0, -1)
    assert len(conversations) == 1  # the shell's conversation, in our store
    events = client.lrange(
        redis_keys.tracker_events("tracker", conversations[0]), 0, -1
    )
    assert any('"what are your hours"' in e for e in events)
    assert client.exists(f"lock:{{{conversations[0]}}}:next")  # tickets were drawn
