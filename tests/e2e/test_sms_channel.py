"""The SMS channel end to end: real Rasa server, action server, Redis and the local
Twilio emulator, which signs webhooks and takes sends like Twilio.

One stack serves the module (about 30 s to start); tests use different customer
numbers so they do not see each other's texts.
"""

from __future__ import annotations

import concurrent.futures
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from twilio.request_validator import RequestValidator

from redisio import keys as redis_keys
from tests.e2e.business import GREETING, NAME, SERVICE, a, mdy, next_weekday
from tools.harness.redis_server import RedisServer
from tools.harness.sms_stack import AUTH_TOKEN, BUSINESS, SmsStack, http


@pytest.fixture(scope="module")
def stack(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SmsStack]:
    # make run's layout: the ingress answers Twilio, the Rasa server runs turns.
    sms = SmsStack(redis_server, tmp_path_factory.mktemp("sms"), ingress=True)
    try:
        yield sms.start()
    finally:
        sms.stop()


def customer(n: int) -> str:
    return f"+1415555{n:04d}"


def sid() -> str:
    return "SM" + secrets.token_hex(16)


def signed_post(
    stack: SmsStack, fields: dict[str, str], token: str = AUTH_TOKEN, path: str = ""
) -> tuple[int, str]:
    url = stack.webhook if not path else stack.public_url + path
    body = urllib.parse.urlencode(fields).encode()
    signature = RequestValidator(token).compute_signature(url, fields)
    return raw_post(url, body, {"X-Twilio-Signature": signature})


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(
        url,
        body,
        {"Content-Type": "application/x-www-form-urlencoded", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def inbound_fields(frm: str, body: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid(),
        "AccountSid": "AC" + "5" * 32,
        "From": frm,
        "To": BUSINESS,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        **extra,
    }


# --- a conversation by SMS ---------------------------------------------------------


def test_a_text_gets_an_sms_reply_with_segments_and_delivery(stack: SmsStack) -> None:
    phone = customer(1)
    webhook = stack.text(phone, "hi")
    assert webhook["status"] == 200
    assert "<Response" in webhook["response_body"]  # empty TwiML: replies come by API
    reply = stack.replies(phone, 1)[0]
    assert reply["body"].startswith(GREETING)
    assert reply["from"] == BUSINESS
    assert reply["num_segments"] >= 1
    # The text is on record with its segments, and Twilio's callbacks move it on.
    db = stack.redis()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        record = db.hgetall(redis_keys.message(phone, reply["sid"]))
        if record.get("status") == "delivered":
            break
        time.sleep(0.2)
    assert record["status"] == "delivered"
    assert record["body"] == reply["body"]
    assert int(record["segments"]) == reply["num_segments"]
    tracker = stack.tracker(phone)
    assert tracker["latest_input_channel"] == "twilio_sms"
    assert tracker["slots"]["channel_type"] == "sms"
    metadata = [e for e in tracker["events"] if e["event"] == "user"][0]["metadata"]
    assert metadata["to"] == BUSINESS and metadata["from"] == phone
    assert metadata["message_sid"] == webhook["message_sid"]
    assert metadata["channel_type"] == "sms" and metadata["num_segments"] == 1


def test_booking_by_text_offers_numbered_times_and_books(stack: SmsStack) -> None:
    phone = customer(2)
    stack.text(phone, f"can i book {a(SERVICE)} sat morning")
    offer = stack.replies(phone, 1)[-1]["body"]
    assert "Reply 1 for" in offer
    stack.text(phone, "2")
    asked = stack.replies(phone, 2)[-1]["body"]
    assert asked == "What name should I put the appointment under?"
    stack.text(phone, "sam lee")
    check = stack.replies(phone, 3)[-1]["body"]
    assert check.startswith(f"{SERVICE.name.capitalize()} for Sam Lee, Sat")
    stack.text(phone, "y")
    assert stack.replies(phone, 4)[-1]["body"].startswith("Booked: Sat")


def test_a_recorded_booking_replays_as_a_masked_test_story(stack: SmsStack) -> None:
    """`make stories-from-logs` on a real booking: the story names no number and no
    name, and `rasa test` replays it with no wrong prediction."""
    import subprocess

    from tools.harness.sms_stack import BIN, MODEL, ROOT

    phone = customer(61)
    for n, text in enumerate(
        [f"can i book {a(SERVICE)} sat morning", "2", "dana whitfield", "y"], 1
    ):
        stack.text(phone, text)
        stack.replies(phone, n)
    assert stack.sent_to(phone)[-1]["body"].startswith("Booked: Sat")
    out = stack.workdir / "from_logs.yml"
    made = subprocess.run(
        [str(BIN / "python"), "-m", "tools.stories_from_logs", "--since", "1h"]
        + ["--number", phone, "--endpoints", str(stack.workdir / "endpoints.yml")]
        + ["--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    story = out.read_text()
    assert "sat morning" in story and "Alex Morgan" in story
    for personal in (phone, phone[2:], "dana", "Dana Whitfield"):
        assert personal not in story
    replay = subprocess.run(
        [str(BIN / "rasa"), "test", "core", "--model", str(MODEL)]
        + ["--stories", str(out), "--fail-on-prediction-errors"]
        + ["--out", str(stack.workdir / "from_logs_results")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert replay.returncode == 0, replay.stdout[-3000:] + replay.stderr[-3000:]


def test_a_reminder_the_business_sends_goes_out_by_sms_and_c_confirms_it(
    stack: SmsStack,
) -> None:
    """Rasa's execute route with `output_channel=twilio_sms` texts the customer:
    without it, the reminder reached no phone."""
    phone = customer(50)
    day = next_weekday(1)
    stack.text(phone, f"book {a(SERVICE)} {mdy(day)} at 10am, name is Sam Lee")
    assert (
        f"{SERVICE.name.capitalize()} for Sam Lee"
        in stack.replies(phone, 1)[-1]["body"]
    )
    stack.text(phone, "y")
    assert stack.replies(phone, 2)[-1]["body"].startswith("Booked:")

    status, body = http(
        "POST",
        stack.api(f"/conversations/{phone}/execute") + "&output_channel=twilio_sms",
        {"name": "action_remind_appointment"},
    )
    assert status == 200, body
    reminder = stack.replies(phone, 3)[-1]
    assert reminder["body"].startswith(
        f"{NAME}: reminder of your {SERVICE.name} on Tue"
    )
    assert reminder["from"] == BUSINESS
    assert stack.redis().hgetall(redis_keys.message(phone, reminder["sid"]))

    stack.text(phone, "C")
    assert stack.replies(phone, 4)[-1]["body"].startswith(
        "Thanks, you're confirmed for Tue"
    )


def test_a_reminder_to_an_opted_out_number_is_not_sent(stack: SmsStack) -> None:
    phone = customer(51)
    stack.text(phone, "hi")
    stack.replies(phone, 1)
    stack.text(phone, "STOP")
    sent_before = len(stack.settled(phone))
    status, body = http(
        "POST",
        stack.api(f"/conversations/{phone}/execute") + "&output_channel=twilio_sms",
        {"name": "utter_greet"},
    )
    assert status == 200, body
    assert len(stack.settled(phone)) == sent_before


# --- the webhook's gate: signature, validation -----------------------------------


def test_unsigned_or_forged_webhooks_get_403_and_store_nothing(stack: SmsStack) -> None:
    phone = customer(3)
    fields = inbound_fields(phone, "hi")
    body = urllib.parse.urlencode(fields).encode()
    assert raw_post(stack.webhook, body, {})[0] == 403
    assert raw_post(stack.webhook, body, {"X-Twilio-Signature": "bm9wZQ=="})[0] == 403
    assert signed_post(stack, fields, token="not-the-token")[0] == 403  # noqa: S106
    # Signed for another URL (a stale or spoofed host) is forged too.
    other = RequestValidator(AUTH_TOKEN).compute_signature(
        "https://evil.example/webhooks/twilio_sms/webhook", fields
    )
    assert raw_post(stack.webhook, body, {"X-Twilio-Signature": other})[0] == 403
    assert stack.redis().keys(redis_keys.conversation_pattern(phone)) == []
    assert stack.settled(phone) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"From": None}, "From"),
        ({"MessageSid": None}, "MessageSid"),
        ({"To": None}, "To"),
        ({"From": "5551234"}, "From"),
        ({"Body": "x" * 1601}, "1600"),
        ({"NumMedia": "2", "MediaUrl0": "https://a.example/1"}, "Media"),
        ({"NumMedia": "0", "MediaUrl0": "https://a.example/1"}, "Media"),
    ],
)
def test_malformed_texts_get_400_with_a_reason(
    stack: SmsStack, change: dict[str, str | None], reason: str
) -> None:
    phone = customer(4)
    fields = inbound_fields(phone, "hi")
    for key, value in change.items():
        if value is None:
            fields.pop(key)
        else:
            fields[key] = value
    status, text = signed_post(stack, fields)
    assert status == 400
    assert reason.lower() in text.lower() and text.count("\n") <= 1
    assert stack.redis().llen(redis_keys.queue(phone)) == 0


def test_unknown_extra_fields_are_accepted(stack: SmsStack) -> None:
    phone = customer(5)
    fields = inbound_fields(phone, "what are your hours", AddOns='{"status":"ok"}')
    fields["SomethingTwilioAddsNextYear"] = "1"
    assert signed_post(stack, fields)[0] == 200
    assert stack.replies(phone, 1)[0]["body"].startswith(GREETING)


def test_junk_requests_get_a_4xx_never_a_5xx(stack: SmsStack) -> None:
    cases = [
        (b"", {}),
        (b"\xff\xfe\x00", {"X-Twilio-Signature": "x"}),
        (b"From=%2B1&To=&Body=" + b"%" * 50, {"X-Twilio-Signature": "x"}),
    ]
    for body, headers in cases:
        assert raw_post(stack.webhook, body, headers)[0] in (400, 403)
    for fields in (
        {},
        {"Body": "\x00\ud7ff"},
        {"From": "+", "To": "+", "MessageSid": "SM"},
        {"NumMedia": "-1", "From": customer(6), "To": BUSINESS, "MessageSid": sid()},
        {"NumMedia": "99999999999999999999", "MessageSid": sid()},
    ):
        assert signed_post(stack, fields)[0] == 400


# --- exactly one turn per MessageSid ---------------------------------------------


@pytest.mark.parametrize(
    ("times", "concurrent"), [(2, False), (5, False), (2, True), (5, True)]
)
def test_a_repeated_delivery_makes_one_turn(
    stack: SmsStack, times: int, concurrent: bool
) -> None:
    phone = customer(100 + times + 10 * int(concurrent))
    result = stack.text(
        phone, "what are your hours", repeat=times, concurrent=concurrent
    )
    assert result["status"] == 200
    assert len(stack.replies(phone, 1)) == 1
    assert len(stack.settled(phone)) == 1
    assert stack.user_texts(phone) == ["what are your hours"]


# --- opt-out ------------------------------------------------------------------------


def test_stop_silences_the_number_until_start(stack: SmsStack) -> None:
    phone = customer(20)
    stack.text(phone, "hi")
    stack.replies(phone, 1)
    stack.text(phone, " Stop ")
    stack.text(phone, "hello?")
    assert len(stack.settled(phone)) == 1  # no reply to STOP, nor after it
    assert stack.redis().hexists(redis_keys.opt_out(phone), BUSINESS)
    assert stack.user_texts(phone) == ["hi"]  # STOP never reached the bot
    stack.text(phone, "START")
    assert len(stack.settled(phone)) == 1  # Twilio confirms START itself
    assert not stack.redis().hexists(redis_keys.opt_out(phone), BUSINESS)
    stack.text(phone, "what are your hours")
    assert len(stack.replies(phone, 2)) == 2
    log = stack.redis().lrange(redis_keys.opt_out_log(phone), 0, -1)
    assert [("opt_out" in e, "opt_in" in e) for e in log] == [
        (True, False),
        (False, True),
    ]


def test_yes_is_an_answer_for_a_number_that_never_opted_out(stack: SmsStack) -> None:
    phone = customer(21)
    stack.text(phone, "yes")
    assert len(stack.replies(phone, 1)) >= 1
    assert stack.user_texts(phone) == ["yes"]


def test_help_gets_the_help_text_and_no_turn(stack: SmsStack) -> None:
    phone = customer(22)
    stack.text(phone, "HELP")
    reply = stack.replies(phone, 1)[0]["body"]
    assert "STOP" in reply and "BOOK" in reply
    assert stack.user_texts(phone) == []


# --- durability and order -------------------------------------------------------------


def test_five_texts_back_to_back_are_turns_in_arrival_order(stack: SmsStack) -> None:
    phone = customer(30)
    texts = [
        "hi",
        "what are your hours",
        "where are you",
        "do you take aetna",
        "thanks",
    ]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        list(pool.map(lambda t: stack.text(phone, t), texts))
    stack.replies(phone, 5, timeout=90)
    assert stack.user_texts(phone) == texts


def test_a_30_second_turn_does_not_delay_the_webhook(stack: SmsStack) -> None:
    phone = customer(31)
    stack.emulator_config(latency_ms=30_000)  # the turn's send takes 30 s
    try:
        first = stack.text(phone, "hi")
        time.sleep(1)  # the worker is now inside the slow send
        stack.emulator_config(latency_ms=0)
        started = time.monotonic()
        second = stack.text(phone, "what are your hours")
        assert time.monotonic() - started < 1.0
        assert first["elapsed_ms"] < 1000 and second["elapsed_ms"] < 1000
        assert stack.sent_to(phone) == []  # the first turn is still running
    finally:
        stack.emulator_config(latency_ms=0)
    replies = stack.replies(phone, 2, timeout=90)
    assert replies[0]["body"].startswith(GREETING)
    assert "We're open" in replies[1]["body"]  # answered in order, after the slow one


def test_a_killed_server_answers_after_restart(stack: SmsStack) -> None:
    phone = customer(32)
    # Twilio refuses the reply for a while, so the turn is mid-send when killed.
    stack.emulator_config(force=["20429"] * 20)
    sid = stack.text(phone, "what are your hours")["message_sid"]
    before = turn_record(stack, phone, sid)  # the turn ran: its reply is on record
    stack.kill("rasa")
    stack.emulator_config(force=[])
    assert stack.sent_to(phone) == []
    assert stack.redis().llen(redis_keys.queue(phone)) == 1  # not acknowledged
    # With no Rasa server up, the ingress still takes Twilio's texts.
    waiting = customer(33)
    assert stack.text(waiting, "are you open today")["status"] == 200
    stack.start_rasa()
    assert "We're open" in stack.replies(waiting, 1, timeout=60)[0]["body"]
    replies = stack.replies(phone, 1, timeout=60)
    assert len(stack.settled(phone)) == 1
    assert "We're open" in replies[0]["body"]
    # The reply sent is the one on record before the kill: the turn did not run
    # again (a second run would have started a new record).
    after = stack.redis().hgetall(redis_keys.reply(phone, sid))
    assert (after["started_at"], after["parts"]) == (
        before["started_at"],
        before["parts"],
    )
    assert stack.user_texts(phone) == ["what are your hours"]


def turn_record(stack: SmsStack, phone: str, sid: str) -> dict[str, str]:
    """The reply record of the text `sid` once its turn ended (parts stored)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        record = stack.redis().hgetall(redis_keys.reply(phone, sid))
        if "parts" in record:
            return record
        time.sleep(0.1)
    raise AssertionError(f"no turn ended for {sid}: {record}")


def test_status_callbacks_must_be_signed(stack: SmsStack) -> None:
    phone = customer(40)
    fields = {"MessageSid": sid(), "MessageStatus": "delivered", "To": phone}
    body = urllib.parse.urlencode(fields).encode()
    status_url = stack.public_url + "/webhooks/twilio_sms/status"
    assert raw_post(status_url, body, {"X-Twilio-Signature": "bm9wZQ=="})[0] == 403
    assert stack.redis().keys(redis_keys.conversation_pattern(phone)) == []
    assert signed_post(stack, fields, path="/webhooks/twilio_sms/status")[0] == 204
    assert stack.redis().hget(
        redis_keys.message(phone, fields["MessageSid"]), "status"
    ) == ("delivered")
    assert (
        signed_post(
            stack, {"MessageStatus": "sent"}, path="/webhooks/twilio_sms/status"
        )[0]
        == 400
    )


def test_a_picture_with_no_words_gets_an_answer(stack: SmsStack) -> None:
    phone = customer(41)
    media = [{"url": "https://api.twilio.com/media/ME1", "content_type": "image/jpeg"}]
    result = stack.text(phone, "", media=media)
    assert result["message_sid"].startswith("MM")
    reply = stack.replies(phone, 1)[0]["body"]
    assert "Thanks for the picture" in reply
    user = [e for e in stack.tracker(phone)["events"] if e["event"] == "user"][0]
    assert user["parse_data"]["intent"]["name"] == "send_media"
    assert user["metadata"]["media"] == media
