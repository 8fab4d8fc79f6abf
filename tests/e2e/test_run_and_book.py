"""`make run`'s script brings the assistant up; REST books an appointment; Ctrl-C
stops every process it started.

Real processes: the project's run script, the action server, the Rasa server with the
trained model, and a real Redis. Needs models/assistant.tar.gz (`make train`).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_sync  # test side only: the servers under test use redis.asyncio

from tests.actions.trackers import local, mdy, next_weekday
from tests.e2e.run_script import ROOT, RunScript
from tests.redis_server import RedisServer
from tests.stopping import descendants, dump_stacks, kill_all, wait_gone

APP_DB, TRACKER_DB = 10, 11  # databases of its own on the suite's Redis


def post(port: int, sender: str, text: str) -> list[str]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        body,
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return [m.get("text", "") for m in json.load(response)]


def execute(port: int, sender: str, action: str) -> list[str]:
    body = json.dumps({"name": action}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/conversations/{sender}/execute",
        body,
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return [m.get("text", "") for m in json.load(response)["messages"]]


@pytest.fixture(scope="module")
def assistant(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunScript]:
    stack = RunScript(
        tmp_path_factory.mktemp("run"),
        redis_port=redis_server.port,
        app_db=APP_DB,
        tracker_db=TRACKER_DB,
    )
    try:
        yield stack.wait_up()
    finally:
        stack.kill()


def test_rest_channel_books_an_appointment_in_a_few_turns(
    assistant: RunScript, redis_server: RedisServer
) -> None:
    day = next_weekday(1)  # a Tuesday at least two days ahead
    port, sender = assistant.rasa_port, "+15555550123"

    first = post(port, sender, f"hi can i book a cleaning {mdy(day)} at 10am")
    assert first[0] == "Hi, this is Bright Smile Dental's assistant."
    assert first[-1] == "What name should I put the appointment under?"

    second = post(port, sender, "sam lee")
    assert second[-1].startswith("Cleaning for Sam Lee, Tue")
    assert "10:00am. Reply Y to book or N to change it." in second[-1]

    third = post(port, sender, "y")
    assert third[-1].startswith("Booked: Tue") and "10:00am" in third[-1]

    client = redis_sync.Redis.from_url(assistant.redis_url)
    ids = client.zrange(f"{{appointments}}:customer:{sender}", 0, -1)
    stored = client.hgetall(f"{{appointments}}:appt:{ids[0].decode()}")
    assert stored[b"name"] == b"Sam Lee" and stored[b"service"] == b"cleaning"
    assert stored[b"start"].decode() == local(day, 10).isoformat()

    checked = post(port, sender, "when is my appt")
    assert checked[-1].startswith("You have a cleaning on Tue")

    # The business's systems send a reminder; the customer's "yes" confirms it.
    reminder = execute(port, sender, "action_remind_appointment")
    assert reminder[-1].startswith(
        "Bright Smile Dental: reminder of your cleaning on Tue"
    )
    confirmed = post(port, sender, "yes")
    assert confirmed[-1].startswith("Thanks, you're confirmed for Tue")
    assert (
        client.hget(f"{{appointments}}:appt:{ids[0].decode()}", "status")
        == b"confirmed"
    )


def test_handoff_pauses_the_bot_until_staff_resume_it(
    assistant: RunScript, redis_server: RedisServer
) -> None:
    port, sender = assistant.rasa_port, "+15555550124"
    asked = post(port, sender, "i want to talk to a person")
    assert asked[-1].startswith("Sure. A team member will text you back here")
    client = redis_sync.Redis.from_url(assistant.redis_url)
    pending = json.loads(client.hget("{handoff}:pending", sender))
    assert pending["channel"] == "rest"
    assert pending["last_messages"][-1] == "customer: i want to talk to a person"

    assert post(port, sender, "hello?") == []  # paused: staff have it

    # Resume, then listen: the next text is read as a fresh turn.
    body = json.dumps(
        [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/conversations/{sender}/tracker/events",
        body,
        {"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=30).close()  # noqa: S310
    assert post(port, sender, "what are your hours")[-1].startswith(
        "We're open Mon-Thu"
    )


def test_without_twilio_the_phone_texts_through_the_emulator(
    assistant: RunScript,
) -> None:
    """What `make phone` runs: a person types, the reply comes back by SMS."""
    assert "make phone" in assistant.log.read_text()
    phone = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "tools.phone",
            "--emulator",
            assistant.emulator,
            "--from",
            "+14155550777",
            "--linger",
            "20",
        ],
        input="what are your hours\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    out = phone.stdout
    assert "< Hi, this is Bright Smile Dental." in out, out + phone.stderr
    assert "We're open" in out and re.search(r"\[\d segments?\]", out), out


def test_ctrl_c_stops_everything_the_run_script_started(
    assistant: RunScript, tmp_path: Path
) -> None:
    process = assistant.process
    children = descendants(process.pid)
    assert len(children) >= 4  # the script, emulator, action server, Rasa server
    process.send_signal(signal.SIGINT)
    took, alive = wait_gone(children, 10)
    if alive:
        report = tmp_path / "stacks.txt"
        report.write_text(dump_stacks(alive))
        kill_all(alive)
        pytest.fail(
            f"still alive 10 s after SIGINT: {alive}; stacks ({report}):\n"
            f"{report.read_text()}\nrun log:\n{assistant.log.read_text()[-3000:]}"
        )
    assert process.wait(timeout=5) is not None
    print(f"SIGINT: every process gone in {took:.2f} s")
