"""`make run`'s script brings the assistant up; REST books an appointment; Ctrl-C
stops every process it started.

Real processes: the project's run script, the action server, the Rasa server with the
trained model, and a real Redis. Needs models/assistant.tar.gz (`make train`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import select
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync  # test side only: the servers under test use redis.asyncio

from tests.e2e.business import (
    GREETING,
    HOURS,
    NAME,
    SERVICE,
    a,
    local,
    mdy,
    next_weekday,
)
from tests.e2e.run_script import REST_SECRET, ROOT, RunScript
from tools.harness.redis_server import RedisServer
from tools.harness.sms_stack import SMS_API_KEY, http
from tools.harness.stopping import (
    command_line,
    descendants,
    dump_stacks,
    kill_all,
    wait_gone,
)

APP_DB = 10  # a database of its own on the suite's Redis


def execute(stack: RunScript, sender: str, action: str) -> list[str]:
    status, body = stack.api(
        "POST", f"/conversations/{sender}/execute", {"name": action}
    )
    assert status == 200, body
    return [m.get("text", "") for m in body["messages"]]


@pytest.fixture(scope="module")
def assistant(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunScript]:
    stack = RunScript(
        tmp_path_factory.mktemp("run"),
        redis_port=redis_server.port,
        app_db=APP_DB,
    )
    try:
        yield stack.wait_up()
    finally:
        stack.kill()


def test_rest_channel_books_an_appointment_in_a_few_turns(
    assistant: RunScript, redis_server: RedisServer
) -> None:
    day = next_weekday(1)  # a Tuesday at least two days ahead
    sender = "+15555550123"
    post = assistant.rest

    first = post(sender, f"hi can i book {a(SERVICE)} {mdy(day)} at 10am")
    assert first[0] == f"Hi, this is {NAME}'s assistant."
    assert first[-1] == "What name should I put the appointment under?"

    second = post(sender, "sam lee")
    assert second[-1].startswith(f"{SERVICE.name.capitalize()} for Sam Lee, Tue")
    assert "10:00am. Reply Y to book or N to change it." in second[-1]

    third = post(sender, "y")
    assert third[-1].startswith("Booked: Tue") and "10:00am" in third[-1]

    client = redis_sync.Redis.from_url(assistant.redis_url)
    ids = client.zrange(f"{{appointments}}:customer:{sender}", 0, -1)
    stored = client.hgetall(f"{{appointments}}:appt:{ids[0].decode()}")
    assert stored[b"name"] == b"Sam Lee" and stored[b"service"].decode() == SERVICE.key
    assert stored[b"start"].decode() == local(day, 10).isoformat()

    checked = post(sender, "when is my appt")
    assert checked[-1].startswith(f"You have {a(SERVICE)} on Tue")

    # The business's systems send a reminder; the customer's "yes" confirms it.
    reminder = execute(assistant, sender, "action_remind_appointment")
    assert reminder[-1].startswith(f"{NAME}: reminder of your {SERVICE.name} on Tue")
    confirmed = post(sender, "yes")
    assert confirmed[-1].startswith("Thanks, you're confirmed for Tue")
    assert (
        client.hget(f"{{appointments}}:appt:{ids[0].decode()}", "status")
        == b"confirmed"
    )


def test_handoff_pauses_the_bot_until_staff_resume_it(
    assistant: RunScript, redis_server: RedisServer
) -> None:
    sender = "+15555550124"
    post = assistant.rest
    asked = post(sender, "i want to talk to a person")
    assert asked[-1].startswith("Sure. A team member will text you back here")
    client = redis_sync.Redis.from_url(assistant.redis_url)
    pending = json.loads(client.hget("{handoff}:pending", sender))
    assert pending["channel"] == "rest"
    assert pending["last_messages"][-1] == "customer: i want to talk to a person"

    assert post(sender, "hello?") == []  # paused: staff have it

    # Resume, then listen: the next text is read as a fresh turn.
    status, body = assistant.api(
        "POST",
        f"/conversations/{sender}/tracker/events",
        [{"event": "resume"}, {"event": "action", "name": "action_listen"}],
    )
    assert status == 200, body
    assert post(sender, "what are your hours")[-1].startswith(HOURS)


def run_phone(
    assistant: RunScript, customer: str, text: str, linger: float
) -> subprocess.CompletedProcess[str]:
    """What `make phone` runs: one line typed, replies printed for `linger` s."""
    return subprocess.run(  # noqa: S603 - the project's own phone
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "tools.phone",
            "--emulator",
            assistant.emulator,
            "--from",
            customer,
            "--linger",
            str(linger),
        ],
        input=text + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def test_without_twilio_the_phone_texts_through_the_emulator(
    assistant: RunScript,
) -> None:
    """What `make phone` runs: a person types, the reply comes back by SMS."""
    assert "make phone" in assistant.log.read_text()
    phone = run_phone(assistant, "+14155550777", "what are your hours", linger=20)
    out = phone.stdout
    assert f"< {GREETING}" in out, out + phone.stderr
    assert "We're open" in out and re.search(r"\[\d segments?\]", out), out


def make(
    assistant: RunScript, target: str, *variables: str, key: str = SMS_API_KEY
) -> subprocess.CompletedProcess[str]:
    """A make target as an operator runs it, against the test's `make run`."""
    return subprocess.run(  # noqa: S603 - the project's own Makefile
        ["make", "-s", target, *variables],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
        env={
            **os.environ,
            "SMS_API_KEY": key,
            "RASA_PORT": str(assistant.rasa_port),
            "REDIS_URL": assistant.redis_url,
        },
    )


def test_the_readme_reminder_round_trip(assistant: RunScript) -> None:
    """README, "The business texts first": book, `make send TEMPLATE=reminder`,
    the phone answers C and the appointment is confirmed; `make send-reminders`
    runs (this appointment is days away: none due)."""
    customer = "+14155550888"
    day = next_weekday(2)
    assistant.rest(customer, f"book {a(SERVICE)} {mdy(day)} at 10am, name is Sam Lee")
    assert assistant.rest(customer, "y")[-1].startswith("Booked:")
    sent = make(assistant, "send", f"TO={customer}", "TEMPLATE=reminder")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert sent.stdout.startswith("202 ") and '"status": "sent"' in sent.stdout
    assert any(
        f"reminder of your {SERVICE.name}" in t for t in assistant.sent_to(customer)
    )
    phone = run_phone(assistant, customer, "C", linger=8)
    assert "< Thanks, you're confirmed for" in phone.stdout, phone.stdout + phone.stderr
    due = make(assistant, "send-reminders")
    assert due.returncode == 0, due.stdout + due.stderr
    assert due.stdout.startswith("reminders: 0 sent"), due.stdout
    refused = make(
        assistant, "send", f"TO={customer}", "MSG=hi", key="wrong-key-0123456789"
    )
    assert refused.returncode != 0 and "401" in refused.stdout


def rasa_api_routes() -> list[tuple[str, str]]:
    """(method, path) of every route the installed Rasa's HTTP server defines,
    read from its source: importing rasa.server here would cost 20 s."""
    spec = importlib.util.find_spec("rasa")
    assert spec is not None and spec.submodule_search_locations
    source = (Path(spec.submodule_search_locations[0]) / "server.py").read_text()
    found = re.findall(r'@app\.(get|post|put|delete)\(\s*"([^"]+)"', source)
    assert len(found) >= 19, found  # Rasa 3.6 has 19
    return [
        (method.upper(), path.replace("<conversation_id:path>", "%2B15555550199"))
        for method, path in found
    ]


def status_of(url: str, method: str = "GET", **kwargs: Any) -> int:
    status, _ = http(method, url, kwargs.pop("body", None), timeout=30, **kwargs)
    return status


def test_only_the_signed_sms_routes_and_health_answer_without_a_credential(
    assistant: RunScript,
) -> None:
    base = assistant.rasa
    routes = rasa_api_routes() + [
        ("GET", "/webhooks/rest/"),
        ("POST", "/webhooks/rest/webhook"),
        ("GET", "/no/such/route"),
        ("POST", "/webhooks/twilio_sms_other/webhook"),
    ]
    body = {"sender": "+15555550199", "message": "cancel my appointment"}
    answered = {
        f"{method} {path}": status_of(base + path, method, body=body)
        for method, path in routes
    }
    assert {route: code for route, code in answered.items() if code != 401} == {}

    # A wrong credential is no credential.
    assert status_of(base + "/version?token=wrong-token-0123456789") == 401
    assert status_of(base + "/status", headers={"X-Rest-Secret": REST_SECRET}) == 401
    wrong = {"X-Rest-Secret": "not-the-secret-0123456789"}
    rest = base + "/webhooks/rest/webhook"
    assert status_of(rest, "POST", body=body, headers=wrong) == 401
    assert status_of(rest, "POST", body=body, headers={"X-Rest-Secret": ""}) == 401

    # Open: the health route, and the SMS routes, which check Twilio's signature.
    assert status_of(base + "/webhooks/twilio_sms/") == 200
    form = "From=%2B15555550199&To=%2B15017122661&Body=STOP&MessageSid=SM1"
    for path in ("/webhooks/twilio_sms/webhook", "/webhooks/twilio_sms/status"):
        assert post_form(base + path, form.encode(), "forged") == 403

    # With the credential each one is let through.
    assert assistant.api("GET", "/version")[0] == 200
    assert assistant.api("GET", "/conversations/%2B15555550199/tracker")[0] == 200
    assert assistant.rest("+15555550199", "what are your hours")
    assert "Rasa HTTP API on" in assistant.log.read_text()


def post_form(url: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(
        url,
        body,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def server_pids(stack: RunScript) -> list[int]:
    """The ingress on the public port, `rasa run` and its server processes (one per
    core: `WORKERS`)."""
    found = [
        pid
        for pid in descendants(stack.process.pid)
        if " run --model" in command_line(pid)
        or "connectors.ingress" in command_line(pid)
    ]
    assert found, [command_line(pid) for pid in descendants(stack.process.pid)]
    return found


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def raw_post(port: int, head: str, body: Iterator[bytes]) -> tuple[str, float]:
    """Send headers, then the body until the server answers: the status line and
    how long it took to come. Sending stops at the answer, so that the server's
    close cannot reset the connection before the answer is read."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head.encode())
        for chunk in body:
            if select.select([conn], [], [], 0.01)[0]:
                break
            try:
                conn.sendall(chunk)
            except OSError:  # closed after answering
                break
        reply = conn.makefile("rb").readline().decode()
    return reply.strip(), time.monotonic() - started


def test_a_huge_body_is_refused_before_it_is_read(assistant: RunScript) -> None:
    """Twilio's forms are a few KB; 10 MB with a dummy signature gets 413 at once,
    whether it announces its size or comes chunked, and is never buffered."""
    pids = server_pids(assistant)
    before = sum(rss_kib(pid) for pid in pids)
    size = 10 * 1024 * 1024
    block = b"Body=" + b"x" * (64 * 1024 - 5)
    common = (
        "POST /webhooks/twilio_sms/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "X-Twilio-Signature: forged\r\n"
    )
    # Announced: the answer comes before a byte of the body is sent.
    status, took = raw_post(
        assistant.rasa_port, common + f"Content-Length: {size}\r\n\r\n", iter(())
    )
    assert status.startswith("HTTP/1.1 413"), status
    assert took < 2, took
    for _ in range(3):
        status, took = raw_post(
            assistant.rasa_port,
            common + f"Content-Length: {size}\r\n\r\n",
            (block for _ in range(size // len(block))),
        )
        assert status.startswith("HTTP/1.1 413"), status
        chunked = (
            b"%x\r\n%s\r\n" % (len(block), block) for _ in range(size // len(block))
        )
        status, took = raw_post(
            assistant.rasa_port,
            common + "Transfer-Encoding: chunked\r\n\r\n",
            chunked,
        )
        assert status.startswith("HTTP/1.1 413"), status
        assert took < 5, took
    grew_mib = (sum(rss_kib(pid) for pid in pids) - before) / 1024
    print(f"Rasa server RSS after 6 bodies of 10 MB: {grew_mib:+.1f} MiB")
    assert grew_mib < 10
    # A real text still goes through.
    assert status_of(assistant.rasa + "/webhooks/twilio_sms/") == 200


def test_ctrl_c_stops_everything_the_run_script_started(
    assistant: RunScript, tmp_path: Path
) -> None:
    process = assistant.process
    children = descendants(process.pid)
    assert len(children) >= 5  # script, emulator, actions, ingress, Rasa server
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
