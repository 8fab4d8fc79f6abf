"""The SMS channel's HTTP routes in-process: Sanic's test client, a real Redis, the
local Twilio emulator, twilio's own RequestValidator to sign. Only Rasa's turn is
scripted (worker_stack.ScriptedBot); everything from the webhook to the text
arriving at the emulator is the channel's own code, started as the server does
(`TwilioSmsInput.start`) but without the server's process lifecycle."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from sanic import Sanic
from twilio.request_validator import RequestValidator

from connectors.settings import DEFAULT_CANCEL_HINT, SmsSettings
from connectors.twilio_sms import MAX_BODY_BYTES, TwilioSmsInput
from redisio import keys as redis_keys
from tests.connectors.worker_stack import (
    BUSINESS,
    CUSTOMER,
    SID,
    TOKEN,
    ScriptedBot,
    emulator_for_replicas,
    inbound_form,
    sent_to,
    wait_for_texts,
    worker_settings,
)
from tools.harness.redis_server import RedisServer

PUBLIC = "https://sms.example.com"
WEBHOOK = "/webhooks/twilio_sms/webhook"
STATUS = "/webhooks/twilio_sms/status"
FALLBACK = "/webhooks/twilio_sms/fallback"

emulator = pytest_asyncio.fixture(emulator_for_replicas)


@dataclass
class Mounted:
    app: Sanic
    channel: TwilioSmsInput
    bot: ScriptedBot

    async def post(
        self,
        path: str,
        form: dict[str, str],
        signature: str | None = "",
        content_type: str = "application/x-www-form-urlencoded",
    ) -> tuple[int, str]:
        """POST a form as Twilio would; `signature` "" signs it, None leaves the
        header out, anything else is sent as the (forged) signature."""
        headers = {"content-type": content_type}
        if signature == "":
            signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, form)
        if signature is not None:
            headers["x-twilio-signature"] = signature
        _request, response = await self.app.asgi_client.post(
            path, content=urlencode(form), headers=headers
        )
        return response.status, response.text


async def mount(settings: SmsSettings, bot: ScriptedBot) -> Mounted:
    app = Sanic(f"routes-{uuid.uuid4().hex[:12]}")
    channel = TwilioSmsInput(settings)
    app.blueprint(channel.routes(), url_prefix="/webhooks/twilio_sms")
    await channel.start(app, bot.on_new_message)
    return Mounted(app, channel, bot)


@pytest_asyncio.fixture
async def mounted(
    emulator: str,
    redis: Redis,
    redis_server: RedisServer,
) -> AsyncIterator[Mounted]:
    settings = worker_settings(emulator, redis_server, public_url=PUBLIC)
    routes = await mount(settings, ScriptedBot())
    yield routes
    await routes.channel.stop()


async def test_a_signed_text_is_acknowledged_with_empty_twiml_and_answered(
    mounted: Mounted,
    emulator: str,
) -> None:
    status, body = await mounted.post(WEBHOOK, inbound_form("are you open today"))
    assert status == 200
    assert body.strip().endswith("<Response />")
    [reply] = await wait_for_texts(emulator, 1)
    assert (reply["body"], reply["from"]) == ("You said: are you open today", BUSINESS)
    assert mounted.bot.turns == ["are you open today"]


async def test_twilio_retrying_a_text_gets_one_answer(
    mounted: Mounted,
    emulator: str,
) -> None:
    form = inbound_form("what time is my appointment")
    for _ in range(3):  # Twilio retries a webhook it thinks failed
        assert (await mounted.post(WEBHOOK, form))[0] == 200
    await wait_for_texts(emulator, 1)
    assert len(await sent_to(emulator, wait=1)) == 1
    assert mounted.bot.turns == ["what time is my appointment"]


async def test_unsigned_or_forged_requests_are_refused_and_not_stored(
    mounted: Mounted, redis: Redis
) -> None:
    form = inbound_form("cancel my appointment")
    assert (await mounted.post(WEBHOOK, form, signature=None))[0] == 403
    forged = RequestValidator("not-the-token").compute_signature(PUBLIC + WEBHOOK, form)
    assert (await mounted.post(WEBHOOK, form, signature=forged))[0] == 403
    # Signed for another URL (a replay against another deployment's path).
    other = RequestValidator(TOKEN).compute_signature(PUBLIC + STATUS, form)
    assert (await mounted.post(WEBHOOK, form, signature=other))[0] == 403
    assert (await mounted.post(STATUS, form, signature=None))[0] == 403
    assert await redis.llen(redis_keys.queue(CUSTOMER)) == 0
    assert mounted.bot.turns == []


async def test_malformed_requests_get_a_4xx_that_says_why(mounted: Mounted) -> None:
    status, reason = await mounted.post(
        WEBHOOK, inbound_form("hi"), content_type="application/json"
    )
    assert (status, "expected application/x-www-form-urlencoded" in reason) == (
        400,
        True,
    )
    no_sender = inbound_form("hi")
    del no_sender["From"]
    status, reason = await mounted.post(WEBHOOK, no_sender)
    assert status == 400 and "From" in reason
    status, reason = await mounted.post(STATUS, {"MessageStatus": "delivered"})
    assert status == 400 and reason.strip()


async def test_a_body_over_the_cap_is_refused_before_it_is_read(
    mounted: Mounted,
) -> None:
    huge = "x" * (MAX_BODY_BYTES + 1)
    _request, response = await mounted.app.asgi_client.post(
        WEBHOOK,
        content=huge,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": "dummy",
        },
    )
    assert response.status == 413


async def test_a_delivery_callback_is_stored_for_the_message_it_names(
    mounted: Mounted,
    emulator: str,
    redis: Redis,
) -> None:
    await mounted.post(WEBHOOK, inbound_form("hello"))
    [reply] = await wait_for_texts(emulator, 1)
    form = {
        "MessageSid": reply["sid"],
        "AccountSid": SID,
        "From": BUSINESS,
        "To": CUSTOMER,
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
    }
    status, _ = await mounted.post(STATUS, form)
    assert status == 204
    stored = await redis.hgetall(redis_keys.message(CUSTOMER, reply["sid"]))
    assert (stored["status"], stored["error_code"]) == ("undelivered", "30003")


async def test_redis_down_at_start_is_a_503_until_it_is_back(
    mounted: Mounted,
    emulator: str,
) -> None:
    """Health names Redis and a text is refused unstored (Twilio then tries the
    fallback URL); once Redis is back the same server answers, no restart."""
    _request, response = await mounted.app.asgi_client.get("/webhooks/twilio_sms/")
    assert (response.status, response.json["status"]) == (200, "ok")
    own = RedisServer()
    own.pause()
    settings = worker_settings(emulator, own, public_url=PUBLIC)
    routes = await mount(settings, ScriptedBot())
    try:
        _request, health = await routes.app.asgi_client.get("/webhooks/twilio_sms/")
        refused, reason = await routes.post(WEBHOOK, inbound_form("hello"))
        own.resume()
        _request, healthy = await routes.app.asgi_client.get("/webhooks/twilio_sms/")
        taken, _ = await routes.post(WEBHOOK, inbound_form("hello again"))
        [reply] = await wait_for_texts(emulator, 1)
    finally:
        await routes.channel.stop()
        own.stop()
    assert (health.status, health.json["down"]) == (503, ["redis"])
    assert refused == 503 and "not stored" in reason
    assert (healthy.status, taken) == (200, 200)
    assert reply["body"] == "You said: hello again"


async def test_a_server_stopped_at_any_moment_of_its_start_leaves_no_task_behind(
    emulator: str,
    redis: Redis,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A rolling restart may stop a replica the moment it started: every loop of
    the worker (reader, sweeper, housekeeping, inactivity) ends within the stop
    budget, even when a Redis call swallowed the cancellation."""
    settings = worker_settings(
        emulator, redis_server, public_url=PUBLIC, inactivity_warning_after_seconds=60
    )
    caplog.set_level(logging.WARNING, logger="connectors.worker")
    for delay in (0, 0, 0.001, 0.005, 0.02, 0.1):
        routes = await mount(settings, ScriptedBot())
        await asyncio.sleep(delay)
        await routes.channel.stop()
    assert "still running" not in caplog.text


async def test_the_fallback_url_answers_with_redis_down(emulator: str) -> None:
    """Twilio's "Primary handler fails" URL: the customer gets the fallback text
    as TwiML while Redis is down; it still checks the signature, and gives STOP
    no reply (Twilio confirms opt-outs itself)."""
    own = RedisServer()
    settings = worker_settings(
        emulator, own, public_url=PUBLIC, fallback_message="Down for a moment, sorry."
    )
    routes = await mount(settings, ScriptedBot())
    own.stop()
    try:
        refused, _ = await routes.post(WEBHOOK, inbound_form("hello"))
        answered, twiml = await routes.post(FALLBACK, inbound_form("hello"))
        forged, _ = await routes.post(FALLBACK, inbound_form("hello"), signature="bad")
        stop, silent = await routes.post(FALLBACK, inbound_form("STOP"))
    finally:
        await routes.channel.stop()
    assert refused == 503
    assert answered == 200
    assert "<Message>Down for a moment, sorry.</Message>" in twiml
    assert forged == 403
    assert stop == 200 and "<Message>" not in silent


async def test_start_after_a_bare_cancel_says_how_to_cancel_an_appointment(
    mounted: Mounted, emulator: str, redis: Redis
) -> None:
    """CANCEL is one of Twilio's opt-out words, and customers also mean an
    appointment by it: their START is answered with how to say that instead."""
    assert (await mounted.post(WEBHOOK, inbound_form("cancel")))[0] == 200
    assert await redis.hlen(redis_keys.opt_out(CUSTOMER)) == 1
    assert (await mounted.post(WEBHOOK, inbound_form("START")))[0] == 200
    [hint] = await wait_for_texts(emulator, 1)
    assert hint["body"] == DEFAULT_CANCEL_HINT
    assert await redis.hlen(redis_keys.opt_out(CUSTOMER)) == 0
    # Opted out by STOP: START gets Twilio's own confirmation only.
    await mounted.post(WEBHOOK, inbound_form("STOP"))
    await mounted.post(WEBHOOK, inbound_form("start"))
    assert await redis.hlen(redis_keys.opt_out(CUSTOMER)) == 0
    await asyncio.sleep(1)
    assert len(await sent_to(emulator)) == 1
    assert mounted.bot.turns == []


async def test_opt_out_words_follow_the_setting(
    emulator: str, redis: Redis, redis_server: RedisServer
) -> None:
    """A Messaging Service whose Advanced Opt-Out dropped CANCEL: a bare "cancel"
    is a text for the assistant, and the business's own word opts out."""
    settings = worker_settings(
        emulator, redis_server, public_url=PUBLIC, opt_out_words="STOP,ARRET"
    )
    routes = await mount(settings, ScriptedBot())
    try:
        await routes.post(WEBHOOK, inbound_form("cancel"))
        [reply] = await wait_for_texts(emulator, 1)
        assert reply["body"] == "You said: cancel"
        assert await redis.hlen(redis_keys.opt_out(CUSTOMER)) == 0
        await routes.post(WEBHOOK, inbound_form("arret"))
        assert await redis.hlen(redis_keys.opt_out(CUSTOMER)) == 1
    finally:
        await routes.channel.stop()
    assert routes.bot.turns == ["cancel"]
