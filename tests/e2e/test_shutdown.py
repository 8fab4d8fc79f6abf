"""Stop means stop: `make run`'s script and everything it started exit within 10 s.

The stack is the real one `make run` starts (scripts/run.sh: its own Redis, the
emulator, the action server, the Rasa server). Before the stop it does what preceded
the hang seen in CI, and a little more: a booking over REST, a reminder through
`/execute`, an SMS conversation whose inactivity warning falls due, a reply whose
send Twilio keeps refusing (20429, so it is being retried), and a turn in flight.
Then one signal: SIGTERM to the script (what an orchestrator sends) or SIGINT to
the process group (Ctrl-C in a terminal). If anything is still alive after 10 s,
py-spy dumps every process before the test kills them, so a hang names its place.

`make test-shutdown` runs this 20 times under CPU load and prints the pass count.
SHUTDOWN_SIGNALS (comma separated: term, int) picks the variants; default: term.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import redis as redis_sync  # test side only: the servers under test use redis.asyncio

from tests.e2e.sms_stack import http
from tests.redis_server import free_port
from tests.stopping import descendants, dump_stacks, kill_all, wait_gone

ROOT = Path(__file__).parents[2]
MODEL = ROOT / "models" / "assistant.tar.gz"
STOP_WITHIN = 10.0
BUSINESS = "+15017122661"
WARNING = "Are you still there?"
SIGNALS = [s.strip() for s in os.environ.get("SHUTDOWN_SIGNALS", "term").split(",")]


def post_rest(port: int, sender: str, text: str) -> list[str]:
    status, body = http(
        "POST",
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        {"sender": sender, "message": text},
    )
    assert status == 200, body
    return [m.get("text", "") for m in body]


def wait_until(check, what: str, timeout: float = 120, process=None) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            assert process.poll() is None, f"run script exited early (waiting: {what})"
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(what)


def answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2):  # noqa: S310
        return True


class RunScript:
    """scripts/run.sh in its own process group, every port and file its own."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.rasa_port, self.action_port = free_port(), free_port()
        self.emulator_port, self.redis_port = free_port(), free_port()
        self.redis_dir = workdir / "redis"
        self.log = workdir / "run.log"
        endpoints = workdir / "endpoints.yml"
        endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
            "tracker_store:\n  type: stores.redis_store.RedisSessionTrackerStore\n"
            f"  url: 127.0.0.1\n  port: {self.redis_port}\n  db: 1\n"
            "lock_store:\n  type: stores.lock_store.RedisTicketLockStore\n"
            f"  url: 127.0.0.1\n  port: {self.redis_port}\n  db: 1\n"
        )
        # The project's credentials.yml, with the inactivity warning due in 2 s and
        # sends retried long enough to be mid-retry when the signal comes.
        credentials = workdir / "credentials.yml"
        credentials.write_text(
            (ROOT / "credentials.yml")
            .read_text()
            .replace(
                "connectors.twilio_sms.TwilioSmsInput:\n",
                "connectors.twilio_sms.TwilioSmsInput:\n"
                "  inactivity_warning_after_seconds: 2\n"
                "  inactivity_poll_seconds: 0.2\n"
                "  send_attempts: 10\n",
            )
        )
        env = {
            **os.environ,
            "RASA_PORT": str(self.rasa_port),
            "ACTION_PORT": str(self.action_port),
            "EMULATOR_PORT": str(self.emulator_port),
            "REDIS_PORT": str(self.redis_port),
            "REDIS_DIR": str(self.redis_dir),
            "RASA_ENDPOINTS": str(endpoints),
            "RASA_CREDENTIALS": str(credentials),
            "LOG_DIR": str(workdir / "logs"),
        }
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_URL"):
            env.pop(name, None)  # no Twilio account: the script starts the emulator
        env.pop("REDIS_URL", None)
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(ROOT / "scripts" / "run.sh")],
                cwd=ROOT,
                env=env,
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def emulator(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    def redis(self) -> redis_sync.Redis:
        return redis_sync.Redis(port=self.redis_port, decode_responses=True)

    def redis_pid(self) -> int:
        return int((self.redis_dir / "redis.pid").read_text())

    def wait_up(self) -> None:
        for url in (
            f"http://127.0.0.1:{self.action_port}/health",
            f"http://127.0.0.1:{self.rasa_port}/webhooks/twilio_sms/",
            f"{self.emulator}/_emulator/health",
        ):
            wait_until(lambda u=url: answers(u), url, 300, self.process)

    def text(self, customer: str, body: str) -> None:
        status, result = http(
            "POST",
            f"{self.emulator}/_emulator/inbound",
            {"from": customer, "to": BUSINESS, "body": body},
        )
        assert status == 200, result

    def sent_to(self, customer: str) -> list[str]:
        status, result = http(
            "GET",
            f"{self.emulator}/_emulator/messages?to={customer.replace('+', '%2B')}",
        )
        assert status == 200, result
        return [m["body"] for m in result["messages"]]

    def all_pids(self) -> list[int]:
        return descendants(self.process.pid) + [self.redis_pid()]


def busy_stack(stack: RunScript) -> list[str]:
    """The turns that ran before the CI hang, then a send in retry and a turn in
    flight. Returns the customers whose texts must still be queued afterwards."""
    stack.wait_up()
    port = stack.rasa_port
    booker = "+15555550191"
    assert post_rest(port, booker, "book a cleaning next tuesday at 10am")
    assert post_rest(port, booker, "sam lee")[-1].startswith("Cleaning for Sam Lee")
    assert post_rest(port, booker, "y")[-1].startswith("Booked:")
    status, reminder = http(
        "POST",
        f"http://127.0.0.1:{port}/conversations/{booker}/execute",
        {"name": "action_remind_appointment"},
    )
    assert status == 200, reminder

    idle = "+15555550192"  # texts once, then its inactivity warning falls due
    stack.text(idle, "what are your hours")
    wait_until(
        lambda: any(WARNING in body for body in stack.sent_to(idle)),
        "the inactivity warning",
        60,
        stack.process,
    )

    # Twilio refuses every send from now on: replies are being retried.
    status, result = http(
        "POST", f"{stack.emulator}/_emulator/config", {"force": ["20429"] * 500}
    )
    assert status == 200, result
    retrying, in_flight = "+15555550193", "+15555550194"
    stack.text(retrying, "what are your hours")
    time.sleep(2.0)
    stack.text(in_flight, "can i book a checkup this friday at 2pm")
    time.sleep(0.3)
    return [retrying, in_flight]


def queued_after_restart(stack: RunScript, customers: list[str]) -> dict[str, int]:
    """Start the script's Redis again from its AOF: what is in each inbox queue."""
    subprocess.run(
        [str(ROOT / "scripts" / "redis.sh"), "start"],
        env={
            **os.environ,
            "REDIS_PORT": str(stack.redis_port),
            "REDIS_DIR": str(stack.redis_dir),
        },
        check=True,
        capture_output=True,
        timeout=30,
    )
    try:
        client = stack.redis()
        return {c: client.llen(f"sms:{{{c}}}:queue") for c in customers}
    finally:
        subprocess.run(
            [str(ROOT / "scripts" / "redis.sh"), "stop"],
            env={**os.environ, "REDIS_DIR": str(stack.redis_dir)},
            check=False,
            timeout=30,
        )


@pytest.mark.parametrize("how", SIGNALS)
def test_one_signal_stops_every_process_within_10_s(how: str, tmp_path: Path) -> None:
    assert MODEL.exists(), "no trained model: run `make train` first"
    stack = RunScript(tmp_path)
    try:
        waiting = busy_stack(stack)
        pids = stack.all_pids()
        assert len(pids) >= 5, pids  # script, emulator, actions, rasa, redis
        if how == "int":
            os.killpg(stack.process.pid, signal.SIGINT)
        else:
            stack.process.send_signal(signal.SIGTERM)
        took, alive = wait_gone(pids, STOP_WITHIN)
        if alive:
            report = tmp_path / "stacks.txt"
            report.write_text(dump_stacks(alive))
            pytest.fail(
                f"still alive {STOP_WITHIN:g} s after SIG{how.upper()}: {alive}\n"
                f"stacks: {report}\n{report.read_text()}\n"
                f"run log: {stack.log.read_text()[-3000:]}"
            )
        code = stack.process.wait(timeout=5)
        log = stack.log.read_text()
        assert code == 0, f"run script exit {code} after {took:.1f} s:\n{log[-3000:]}"
        assert "forced" not in log, log[-3000:]
        print(f"SIG{how.upper()}: every process gone in {took:.2f} s")
    finally:
        kill_all(descendants(stack.process.pid))
        if stack.process.poll() is None:
            stack.process.kill()
        try:
            kill_all([stack.redis_pid()])
        except (OSError, ValueError):
            pass
    # Nothing in flight was lost: both texts are still queued, for the next start.
    assert queued_after_restart(stack, waiting) == dict.fromkeys(waiting, 1)
