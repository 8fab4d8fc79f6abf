"""The business starts conversations by SMS (POST /sms/outbound), sends reminders
(make send-reminders) and answers hand-offs (/sms/handoff), end to end: the real
Rasa server behind the ingress, the action server, Redis and the Twilio emulator.

Appointments are written straight into the diary (the booking conversation has
tests of its own); everything after that is what a customer and the business see.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import subprocess
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import redisio
from actions.appointment_store import Appointment, AppointmentStore, SlotTaken
from redisio import RedisSettings
from redisio import keys as redis_keys
from tests.e2e.business import BIZ, NAME
from tests.e2e.conftest import LIMITED_KEY
from tools.harness.sms_stack import BIN, BUSINESS, ROOT, SMS_API_KEY, SmsStack, http


@pytest.fixture
def stack(business_stack: SmsStack) -> SmsStack:
    return business_stack


def customer(n: int) -> str:
    return f"+1415666{n:04d}"


def book(
    stack: SmsStack, phone: str, hours_ahead: float, name: str = "Sam Lee"
) -> Appointment:
    """An appointment in the diary, as the booking form would write it: the first
    free start from `hours_ahead` on (the clinic has one diary for every test)."""

    async def write() -> Appointment:
        biz = BIZ
        client = redisio.separate(RedisSettings.from_url(stack.redis_url))
        store = AppointmentStore(client, biz.timezone)
        start = (datetime.now(biz.timezone) + timedelta(hours=hours_ahead)).replace(
            second=0, microsecond=0
        )
        try:
            for _ in range(50):
                try:
                    return await store.book(phone, biz.services[0], start, name)
                except SlotTaken:
                    start += timedelta(minutes=30)
            raise AssertionError("no free start in the diary")
        finally:
            await client.close()

    return asyncio.run(write())


def appointment_status(stack: SmsStack, appointment: Appointment) -> dict[str, str]:
    return stack.redis().hgetall(redis_keys.appointment(appointment.id))


def outbound(
    stack: SmsStack, body: dict[str, Any], key: str = SMS_API_KEY
) -> tuple[int, Any]:
    return stack.business_api("POST", "/sms/outbound", body, key=key)


def urgent(
    stack: SmsStack, body: dict[str, Any], key: str = SMS_API_KEY
) -> tuple[int, Any]:
    """Sent now, quiet hours or not."""
    return outbound(stack, {**body, "urgent": True}, key)


def remind(stack: SmsStack, phone: str, appointment: Appointment) -> dict[str, Any]:
    status, body = urgent(
        stack,
        {
            "to": phone,
            "template": "reminder",
            "slots": {"appointment_id": appointment.id},
        },
    )
    assert status == 202, body
    return body


# --- access ------------------------------------------------------------------------


def test_every_business_route_needs_a_key(stack: SmsStack) -> None:
    for method, path in [
        ("POST", "/sms/outbound"),
        ("GET", "/sms/handoff"),
        ("POST", "/sms/handoff/+14156660001/reply"),
        ("POST", "/sms/handoff/+14156660001/resume"),
        ("GET", "/sms/not-a-route"),
    ]:
        for key in (None, "wrong-key-0123456789", SMS_API_KEY[:-1]):
            headers = {"X-API-Key": key} if key else {}
            status, body = http(
                method,
                stack.public_url + path,
                {} if method == "POST" else None,
                headers=headers,
            )
            assert status == 401, (method, path, key, body)
            assert body["error"] == "unauthorized"
    status, _ = stack.business_api("GET", "/sms/not-a-route")
    assert status == 404


# --- the outbound API --------------------------------------------------------------


def test_a_message_starts_a_session_and_the_reply_is_read_in_it(
    stack: SmsStack,
) -> None:
    phone = customer(1)
    stack.text(phone, "hi")
    stack.replies(phone, 1)
    status, body = urgent(
        stack,
        {
            "to": phone,
            "message": f"{NAME}: your new photos are in. Text us with any question.",
        },
    )
    assert status == 202, body
    assert body["conversation_id"] == phone and body["status"] == "sent"
    assert body["segments"] == 1 and len(body["message_sids"]) == 1
    sent = stack.replies(phone, 2)[-1]
    assert sent["sid"] == body["message_sids"][0]
    assert sent["from"] == BUSINESS and sent["body"].startswith(
        f"{NAME}: your new photos"
    )
    events = stack.tracker(phone)["events"]
    starts = [i for i, e in enumerate(events) if e["event"] == "session_started"]
    assert len(starts) == 2, "the business's text opened a new session"
    new_session = events[starts[-1] :]
    bot = [e["text"] for e in new_session if e["event"] == "bot"]
    assert bot == [sent["body"]], "no greeting before the business's own text"
    stack.text(phone, "what time do you open on monday")
    reply = stack.replies(phone, 3)[-1]["body"]
    assert "Hi," not in reply, "the reply continued the session: no new greeting"


def test_errors_are_4xx_with_a_reason(stack: SmsStack) -> None:
    phone = customer(2)
    cases = [
        ({"to": "4155550100", "message": "hi"}, 400, "invalid_number"),
        ({"to": phone, "message": ""}, 400, "empty_message"),
        ({"to": phone, "message": "x" * 1601}, 400, "message_too_long"),
        (
            {"to": phone, "message": "hi", "agent_number": "+15017120000"},
            400,
            "unknown_agent_number",
        ),
        (
            {"to": phone, "message": "hi", "slots": {"no_such_slot": 1}},
            400,
            "unknown_slot",
        ),
        ({"to": phone, "template": "reminder"}, 422, "nothing_to_send"),
    ]
    for body, status, code in cases:
        got, answer = urgent(stack, body)
        assert (got, answer["error"]) == (status, code), (body, answer)
        assert answer["detail"]
    got, answer = http(
        "POST",
        stack.public_url + "/sms/outbound",
        None,
        headers={"X-API-Key": SMS_API_KEY},
    )
    assert got == 400 and answer["error"] == "invalid_json"
    assert stack.sent_to(phone) == []


def test_twilio_refusing_the_send_is_a_502_with_its_code(stack: SmsStack) -> None:
    status, body = urgent(stack, {"to": "+15005550001", "message": "hello"})
    assert status == 502, body
    assert body["error"] == "twilio_error" and body["twilio_code"] == 21211


def test_the_same_idempotency_key_sends_once(stack: SmsStack) -> None:
    phone = customer(3)
    request = {
        "to": phone,
        "message": "Your crown is ready to fit.",
        "idempotency_key": "crown-3",
        "urgent": True,
    }
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: outbound(stack, request), range(2)))
    assert answers[0] == answers[1] and answers[0][0] == 202
    again = outbound(stack, request)
    assert again == answers[0]
    conflict = outbound(stack, {**request, "message": "Something else"})
    assert conflict[0] == 409 and conflict[1]["error"] == "idempotency_conflict"
    assert len(stack.settled(phone)) == 1


def test_over_the_rate_a_key_gets_429_with_retry_after(stack: SmsStack) -> None:
    """The "limited" key's bucket holds 20; other keys are not slowed by it. The
    recipient opted out, so the requests get as far as the opt-out check (409)
    without texting anyone."""
    phone = customer(4)
    stack.text(phone, "STOP")
    stack.settled(phone)
    statuses = []
    for _ in range(21):
        status, body = outbound(stack, {"to": phone, "message": "hi"}, key=LIMITED_KEY)
        statuses.append(status)
    assert statuses[:20] == [409] * 20 and statuses[20] == 429
    request = urllib_request(stack, {"to": phone, "message": "hi"}, LIMITED_KEY)
    assert request["status"] == 429 and int(request["retry_after"]) >= 1
    assert outbound(stack, {"to": phone, "message": "hi"})[0] == 409


def urllib_request(stack: SmsStack, body: dict[str, Any], key: str) -> dict[str, Any]:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - the stack's own URL
        stack.public_url + "/sms/outbound",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "X-API-Key": key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return {
                "status": answer.status,
                "retry_after": answer.headers.get("Retry-After"),
            }
    except urllib.error.HTTPError as err:
        return {"status": err.code, "retry_after": err.headers.get("Retry-After")}


# --- reminders in context ----------------------------------------------------------


def test_reminder_then_c_confirms_that_appointment(stack: SmsStack) -> None:
    """The customer has two appointments; the reminder is about the second, and
    "C" confirms that one, not the next one."""
    phone = customer(10)
    first = book(stack, phone, hours_ahead=5)
    second = book(stack, phone, hours_ahead=20)
    body = remind(stack, phone, second)
    reminder = stack.replies(phone, 1)[-1]
    assert reminder["sid"] == body["message_sids"][0]
    assert reminder["body"].startswith(f"{NAME}: reminder of your")
    stack.text(phone, "C")
    assert stack.replies(phone, 2)[-1]["body"].startswith(
        "Thanks, you're confirmed for"
    )
    assert appointment_status(stack, second)["status"] == "confirmed"
    assert appointment_status(stack, first)["status"] == "booked"


def test_reminder_then_move_it_to_friday_10am_moves_it(stack: SmsStack) -> None:
    phone = customer(11)
    appointment = book(stack, phone, hours_ahead=20)
    remind(stack, phone, appointment)
    stack.replies(phone, 1)
    stack.text(phone, "move it to friday 10am")
    moved = stack.replies(phone, 2)[-1]["body"]
    assert moved.startswith("Moved: Fri"), moved
    assert "10:00am" in moved
    start = datetime.fromisoformat(appointment_status(stack, appointment)["start"])
    assert (start.weekday(), start.hour, start.minute) == (4, 10, 0)


def test_reminder_then_cancel_then_y_cancels_it(stack: SmsStack) -> None:
    """ "cancel it", not a bare "cancel": that one word is one of Twilio's opt-out
    keywords (twilio-facts, Opt-out), which Twilio acts on before we see it."""
    phone = customer(12)
    appointment = book(stack, phone, hours_ahead=20)
    remind(stack, phone, appointment)
    stack.replies(phone, 1)
    stack.text(phone, "cancel it")
    assert "Reply Y to cancel" in stack.replies(phone, 2)[-1]["body"]
    stack.text(phone, "Y")
    assert stack.replies(phone, 3)[-1]["body"].startswith("Cancelled.")
    assert appointment_status(stack, appointment)["status"] == "cancelled"


def test_reminder_then_stop_means_nothing_more_ever(stack: SmsStack) -> None:
    phone = customer(13)
    appointment = book(stack, phone, hours_ahead=20)
    remind(stack, phone, appointment)
    stack.replies(phone, 1)
    stack.text(phone, "STOP")
    after_stop = len(stack.settled(phone))  # Twilio's own STOP reply, if any
    status, body = outbound(
        stack,
        {
            "to": phone,
            "template": "reminder",
            "slots": {"appointment_id": appointment.id},
        },
    )
    assert status == 409 and body["error"] == "opted_out"
    assert outbound(stack, {"to": phone, "message": "hello?", "urgent": True})[0] == 409
    stack.text(phone, "are you there")
    assert len(stack.settled(phone)) == after_stop


# --- make send-reminders ------------------------------------------------------------


def run_reminders(stack: SmsStack) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - the project's own CLI
        [str(BIN / "python"), "-m", "tools.send_reminders"],
        cwd=ROOT,
        env={
            **os.environ,
            "BUSINESS_API_URL": stack.public_url,
            "SMS_API_KEY": SMS_API_KEY,
            "REDIS_URL": stack.redis_url,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_reminders_wait_for_sending_hours(stack: SmsStack) -> None:
    """Due reminders, but the day is quiet: two runs at once send nothing, say
    why, and mark nothing (the last test sends them once the day opens)."""
    for phone in REMINDED:
        book(stack, phone, hours_ahead=6)
    book(stack, LATER, hours_ahead=30)  # beyond 24 h: not yet
    book(stack, OPTED_OUT, hours_ahead=6)
    stack.text(OPTED_OUT, "STOP")
    stack.settled(OPTED_OUT)
    runs = [run_reminders(stack), run_reminders(stack)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    assert all("0 sent" in out and "outside sending hours" in out for out in outputs)
    assert all(stack.sent_to(phone) == [] for phone in [*REMINDED, LATER])


REMINDED = [customer(20 + i) for i in range(3)]
LATER, OPTED_OUT = customer(23), customer(24)


# --- hand-off ----------------------------------------------------------------------


def test_staff_answer_a_handed_off_conversation_and_give_it_back(
    stack: SmsStack,
) -> None:
    phone = customer(30)
    stack.text(phone, "can i talk to a person")
    handed = stack.replies(phone, 1)[-1]["body"]
    assert "team member" in handed
    status, listed = stack.business_api("GET", "/sms/handoff")
    assert status == 200
    waiting = [w for w in listed["waiting"] if w["conversation_id"] == phone]
    assert waiting and waiting[0]["last_messages"]

    stack.text(phone, "hello?")
    assert len(stack.settled(phone)) == 1, "the bot stays silent while staff have it"
    status, body = stack.business_api(
        "POST",
        f"/sms/handoff/{phone}/reply",
        {"message": "Hi, this is Dana at the front desk."},
    )
    assert status == 202, body
    staff = stack.replies(phone, 2)[-1]
    assert (
        staff["body"] == "Hi, this is Dana at the front desk."
        and staff["from"] == BUSINESS
    )
    events = stack.tracker(phone)["events"]
    assert any(
        e["event"] == "bot" and (e.get("metadata") or {}).get("staff") for e in events
    )

    status, body = stack.business_api("POST", f"/sms/handoff/{phone}/resume")
    assert (status, body["status"]) == (200, "resumed")
    status, listed = stack.business_api("GET", "/sms/handoff")
    assert all(w["conversation_id"] != phone for w in listed["waiting"])
    stack.text(phone, "what are your hours")
    assert len(stack.replies(phone, 3)) == 3, "the bot answers again"
    assert stack.business_api("POST", f"/sms/handoff/{phone}/resume")[0] == 409
    status, body = stack.business_api(
        "POST", f"/sms/handoff/{phone}/reply", {"message": "still there?"}
    )
    assert (status, body["error"]) == (409, "not_handed_off")


def test_hand_off_routes_say_what_is_wrong(stack: SmsStack) -> None:
    assert stack.business_api("POST", "/sms/handoff/+14156669999/resume")[0] == 404
    assert stack.business_api("POST", "/sms/handoff/not-a-number/resume")[0] == 400
    phone = customer(31)
    stack.text(phone, "talk to a human please")
    stack.replies(phone, 1)
    status, body = stack.business_api(
        "POST", f"/sms/handoff/{phone}/reply", {"message": " "}
    )
    assert (status, body["error"]) == (400, "empty_message")
    stack.text(phone, "STOP")
    stack.settled(phone)
    status, body = stack.business_api(
        "POST", f"/sms/handoff/{phone}/reply", {"message": "hi"}
    )
    assert (status, body["error"]) == (409, "opted_out")


# --- quiet hours and the scheduled reminders (the server restarts: keep last) --------


def test_quiet_hours_refuse_or_queue_unless_urgent(stack: SmsStack) -> None:
    phone = customer(40)
    status, body = outbound(stack, {"to": phone, "message": "Your results are in."})
    assert (status, body["error"]) == (422, "quiet_hours"), body
    assert "urgent" in body["detail"] and body["allowed_from"]
    status, body = outbound(
        stack, {"to": phone, "message": "Your results are in.", "when_allowed": True}
    )
    assert (status, body["status"]) == (202, "queued"), body
    assert datetime.fromisoformat(body["send_at"]) > datetime.now(timezone.utc)
    assert body["message_sids"] == []
    status, body = urgent(
        stack, {"to": customer(41), "message": "Closed today: burst pipe. Sorry!"}
    )
    assert (status, body["status"]) == (202, "sent"), body
    assert stack.sent_to(phone) == []
    assert queued_job(stack, phone) is not None


def queued_job(stack: SmsStack, phone: str) -> str | None:
    """The id of the text waiting for sending hours to `phone`, if any."""
    for job_id, raw in stack.redis().hgetall(redis_keys.DEFERRED_JOBS).items():
        if json.loads(raw)["request"]["to"] == phone:
            return job_id
    return None


def test_once_the_day_opens_each_waiting_text_goes_once(stack: SmsStack) -> None:
    """The server restarts with the day open and its own reminder task on; the
    text queued before the restart comes due ("time passes": its due score is
    set to now) and goes once; every due reminder goes once, though two `make
    send-reminders` runs race the server's task for them; none to the opted-out
    number or for the appointment beyond 24 hours."""
    stack.api_env.update(
        {
            "SMS_SEND_HOURS": "00:00-24:00",
            "SMS_REMINDERS_ENABLED": "true",
            "SMS_REMINDERS_INTERVAL_SECONDS": "1",
        }
    )
    stack.restart_rasa()
    db = stack.redis()
    job = queued_job(stack, customer(40))
    assert job is not None
    runs = [run_reminders(stack), run_reminders(stack)]
    db.zadd(redis_keys.DEFERRED_DUE, {job: time.time()})
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    queued = stack.replies(customer(40), 1)
    assert queued[0]["body"] == "Your results are in."
    for phone in REMINDED:
        texts = stack.replies(phone, 1)
        assert texts[0]["body"].startswith(f"{NAME}: reminder of your")
    time.sleep(3)  # more rounds of the task and of the queue
    assert len(stack.sent_to(customer(40))) == 1
    for phone in REMINDED:
        assert len(stack.sent_to(phone)) == 1, stack.sent_to(phone)
    assert stack.sent_to(LATER) == []
    assert len(stack.settled(OPTED_OUT)) == len(stack.sent_to(OPTED_OUT))
    assert not any(
        m["body"].startswith(f"{NAME}: reminder") for m in stack.sent_to(OPTED_OUT)
    )
    assert queued_job(stack, customer(40)) is None
    assert db.zscore(redis_keys.DEFERRED_DUE, job) is None
