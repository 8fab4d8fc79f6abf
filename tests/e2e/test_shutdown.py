"""Stop means stop: `make run`'s script and everything it started exit within 10 s.

The stack is the real one `make run` starts (scripts/run.sh with its own Redis, the
emulator, the action server, the Rasa server). Before the stop it does what preceded
the hang seen in CI, and a little more: a booking over REST, a reminder through
`/execute`, an SMS conversation whose inactivity warning falls due, a reply whose
send Twilio keeps refusing (20429, so it is being retried), and a turn in flight.
Then one signal: SIGTERM to the script (what an orchestrator sends) or SIGINT to
its process group (Ctrl-C in a terminal). If anything is still alive after 10 s,
py-spy dumps every process before the test kills them, so a hang names its place.

`make test-shutdown` runs this 20 times under CPU load and prints the pass count.
SHUTDOWN_SIGNALS (comma separated: term, int) picks the variants; default: term.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from redisio import keys as redis_keys
from tests.e2e.business import OTHER_SERVICE, SERVICE, a
from tests.e2e.run_script import ROOT, RunScript, wait_until
from tools.harness.sms_stack import http
from tools.harness.stopping import dump_stacks, wait_gone

STOP_WITHIN = 10.0
WARNING = "Are you still there?"
SIGNALS = [s.strip() for s in os.environ.get("SHUTDOWN_SIGNALS", "term").split(",")]


def busy_stack(stack: RunScript) -> list[str]:
    """The turns that ran before the CI hang, then a send in retry and a turn in
    flight. Returns the customers whose texts must still be queued afterwards."""
    stack.wait_up()
    booker = "+15555550191"
    assert stack.rest(booker, f"book {a(SERVICE)} next tuesday at 10am")
    assert stack.rest(booker, "sam lee")[-1].startswith(
        f"{SERVICE.name.capitalize()} for Sam Lee"
    )
    assert stack.rest(booker, "y")[-1].startswith("Booked:")
    status, reminder = stack.api(
        "POST",
        f"/conversations/{booker}/execute",
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
    stack.text(in_flight, f"can i book {a(OTHER_SERVICE)} this friday at 2pm")
    time.sleep(0.3)
    return [retrying, in_flight]


def queued_after_restart(stack: RunScript, customers: list[str]) -> dict[str, int]:
    """Start the script's Redis again from its AOF: what is in each inbox queue."""
    env = {
        **os.environ,
        "REDIS_PORT": str(stack.redis_port),
        "REDIS_DIR": str(stack.redis_dir),
    }
    redis_sh = str(ROOT / "scripts" / "redis.sh")
    subprocess.run([redis_sh, "start"], env=env, check=True, capture_output=True)
    try:
        client = stack.redis()
        return {c: client.llen(redis_keys.queue(c)) for c in customers}
    finally:
        subprocess.run([redis_sh, "stop"], env=env, check=False, timeout=30)


@pytest.mark.parametrize("how", SIGNALS)
def test_one_signal_stops_every_process_within_10_s(how: str, tmp_path: Path) -> None:
    # Inactivity warning due 2 s after a text; sends retried long enough to be
    # mid-retry when the signal comes.
    stack = RunScript(
        tmp_path,
        channel={
            "inactivity_warning_after_seconds": 2,
            "inactivity_poll_seconds": 0.2,
            "send_attempts": 10,
        },
    )
    try:
        waiting = busy_stack(stack)
        pids = stack.pids()
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
        assert "stopped cleanly" in log and "forced" not in log, log[-3000:]
        print(f"SIG{how.upper()}: every process gone in {took:.2f} s")
    finally:
        stack.kill()
    # Nothing in flight was lost: both texts are still queued, for the next start.
    assert queued_after_restart(stack, waiting) == dict.fromkeys(waiting, 1)
