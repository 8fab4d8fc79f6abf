"""Sessions on real processes: contacts greeted by name, and PolyAI-style inactivity
with two Rasa replicas on one Redis, the emulator as Twilio, and durations of a few
seconds instead of 24 h and 10 min."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from redisio import keys as redis_keys
from tests.e2e.business import GREETING, NAME, SERVICE, a, mdy, open_day
from tools.harness.redis_server import RedisServer, free_port
from tools.harness.sms_stack import BIN, ROOT, SmsStack, http

WARNING = "Are you still there? Reply to keep this conversation open."
WARN_AFTER, GRACE = 3.0, 5.0


@pytest.fixture(scope="module")
def stack(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SmsStack]:
    sms = SmsStack(
        redis_server,
        tmp_path_factory.mktemp("sms-idle"),
        db=5,
        ingress=True,  # make run's layout: the ingress, two Rasa servers behind it
        settings={
            "inactivity_warning_after_seconds": WARN_AFTER,
            "inactivity_grace_seconds": GRACE,
            "inactivity_poll_seconds": 0.2,
            "contact_matching": True,
            "auto_create_contacts": True,
        },
    )
    try:
        yield sms.start(replicas=[("replica", free_port())])
    finally:
        sms.stop()


def warnings(stack: SmsStack, phone: str) -> list[dict[str, Any]]:
    return [m for m in stack.sent_to(phone) if m["body"] == WARNING]


def wait_for_warning(stack: SmsStack, phone: str, timeout: float = 30) -> float:
    """Seconds until the warning reached the emulator."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if warnings(stack, phone):
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"no inactivity warning to {phone}: {stack.sent_to(phone)}")


def sessions(stack: SmsStack, phone: str) -> int:
    events = stack.tracker(phone)["events"]
    return sum(1 for e in events if e["event"] == "session_started")


def test_an_imported_contact_is_greeted_by_name_and_new_numbers_become_contacts(
    stack: SmsStack, tmp_path: Any
) -> None:
    known, stranger = "+14155550611", "+14155550612"
    csv = tmp_path / "contacts.csv"
    csv.write_text(f"phone,name,email\n{known},Jane Doe,jane@example.com\n")
    imported = subprocess.run(
        [str(BIN / "python"), "-m", "tools.import_contacts", str(csv)]
        + ["--redis-url", stack.redis_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stdout + imported.stderr

    stack.text(known, "what are your hours")
    assert stack.replies(known, 1)[0]["body"].startswith(
        f"Hi Jane Doe, this is {NAME}."
    )
    slots = stack.tracker(known)["slots"]
    assert slots["customer_name"] == "Jane Doe"

    stack.text(stranger, "what are your hours")
    assert stack.replies(stranger, 1)[0]["body"].startswith("Hi, this is")
    contact = stack.redis().hgetall(redis_keys.contact(stranger))
    assert contact["source"] == "sms" and "name" not in contact


def test_one_warning_with_two_replicas_and_only_after_the_idle_time(
    stack: SmsStack,
) -> None:
    phone = "+14155550601"
    stack.text(phone, "what are your hours")
    stack.replies(phone, 1)
    sent_at = time.monotonic()
    wait_for_warning(stack, phone)
    assert time.monotonic() - sent_at >= WARN_AFTER - 0.5
    # Both replicas poll the schedule every 0.2 s: still one warning a while later.
    assert len(warnings(stack, phone)) == 1
    stack.quiet(phone, GRACE + 2)
    assert len(warnings(stack, phone)) == 1
    recorded = [
        e
        for e in stack.tracker(phone)["events"]
        if e["event"] == "bot" and e.get("text") == WARNING
    ]
    assert len(recorded) == 1  # the session log shows it
    # The analytics count each warning once: the module's other customers get
    # theirs too, so the count is compared with every warning the emulator took.
    deadline = time.monotonic() + 10
    while warnings_counted(stack) != warnings_sent(stack):
        assert time.monotonic() < deadline, (
            warnings_counted(stack),
            warnings_sent(stack),
        )
        time.sleep(0.2)


def warnings_counted(stack: SmsStack) -> int:
    status, report = stack.business_api("GET", "/sms/analytics?days=7")
    assert status == 200, report
    return int(report["totals"]["inactivity_warnings"])


def warnings_sent(stack: SmsStack) -> int:
    status, result = http("GET", f"{stack.emulator}/_emulator/messages")
    assert status == 200, result
    return sum(1 for m in result["messages"] if m["body"] == WARNING)


def test_a_reply_within_grace_keeps_the_booking_going(stack: SmsStack) -> None:
    phone = "+14155550602"
    stack.text(phone, f"i want to book {a(SERVICE)}")
    stack.replies(phone, 1)
    stack.text(phone, f"{mdy(open_day(min_days_ahead=1))} at 10am")
    asked = stack.replies(phone, 2)[-1]["body"]
    assert asked == "What name should I put the appointment under?"
    wait_for_warning(stack, phone)
    count = len(stack.sent_to(phone))
    stack.text(phone, "Ann Lee")  # within the grace period
    after = stack.replies(phone, count + 1)[-1]["body"]
    assert "Ann" in after, after
    assert GREETING not in after
    # The reply re-armed the timer: no close at the old grace deadline.
    time.sleep(GRACE + 1 - WARN_AFTER)
    assert sessions(stack, phone) == 1
    said = [t for t in stack.user_texts(phone) if not t.startswith("EXTERNAL: ")]
    assert said[-1] == "Ann Lee"


def test_no_reply_closes_and_the_next_text_starts_a_new_session(
    stack: SmsStack,
) -> None:
    phone = "+14155550603"
    stack.text(phone, f"i want to book {a(SERVICE)}")
    first = stack.replies(phone, 1)[-1]["body"]
    assert GREETING in first
    wait_for_warning(stack, phone)
    time.sleep(GRACE + 1)
    count = len(stack.sent_to(phone))
    stack.text(phone, "what are your hours")
    replies = stack.replies(phone, count + 1)
    text = " ".join(m["body"] for m in replies[count:])
    assert GREETING in text  # the start action's greeting again
    assert "name" not in text.lower()  # the booking from before is gone
    assert sessions(stack, phone) == 2


def test_an_opted_out_number_gets_no_warning(stack: SmsStack) -> None:
    phone = "+14155550604"
    stack.text(phone, "what are your hours")
    stack.replies(phone, 1)
    stack.text(phone, "STOP")
    stack.quiet(phone, WARN_AFTER + 3)
    assert warnings(stack, phone) == []


def test_a_conversation_handed_to_a_person_gets_no_warning(stack: SmsStack) -> None:
    phone = "+14155550606"
    stack.text(phone, "i want to talk to a person")
    assert "team member" in stack.replies(phone, 1)[-1]["body"]
    stack.quiet(phone, WARN_AFTER + 3)
    assert warnings(stack, phone) == []
    assert stack.tracker(phone)["paused"] is True


def test_the_warning_still_fires_after_both_replicas_restart(stack: SmsStack) -> None:
    phone = "+14155550605"
    stack.text(phone, "what are your hours")
    stack.replies(phone, 1)
    stack.kill("rasa", signal.SIGKILL)
    stack.kill("replica", signal.SIGKILL)
    time.sleep(WARN_AFTER + 1)  # due while nobody runs
    assert warnings(stack, phone) == []
    stack.start_rasa()
    wait_for_warning(stack, phone, timeout=60)
    stack.quiet(phone, 2)
    assert len(warnings(stack, phone)) == 1
