"""The ingress process's app in-process: Twilio's routes answered here against a real
Redis, signed with twilio's own RequestValidator; every other path forwarded to a
real HTTP server standing in for Rasa (aiohttp.web on a loopback port)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from aiohttp import web
from redis.asyncio import Redis
from sanic import Sanic
from twilio.request_validator import RequestValidator

from connectors.ingress import Upstream, build_app, load_settings
from connectors.settings import SettingsError
from redisio import keys as redis_keys
from tests.connectors.worker_stack import (
    BUSINESS,
    CUSTOMER,
    SID,
    TOKEN,
    inbound_form,
    worker_settings,
)
from tools.harness.redis_server import RedisServer, free_port

PUBLIC = "https://sms.example.com"
WEBHOOK = "/webhooks/twilio_sms/webhook"


@dataclass
class FakeRasa:
    """A real server on a real port, recording what reached it."""

    port: int
    seen: list[dict[str, object]] = field(default_factory=list)
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(
            {
                "method": request.method,
                "path_qs": request.raw_path,
                "body": (await request.read()).decode(),
                "secret": request.headers.get("X-Rest-Secret"),
            }
        )
        if request.query.get("token") != "right-token":
            return web.json_response({"reason": "NotAuthenticated"}, status=401)
        reply = web.json_response([{"text": "hi from rasa"}], status=200)
        reply.headers.add("Set-Cookie", "a=1")
        reply.headers.add("Set-Cookie", "b=2")
        return reply


@dataclass
class Ingress:
    app: Sanic
    rasa: FakeRasa

    async def post_text(self, body: str) -> int:
        form = inbound_form(body)
        signature = RequestValidator(TOKEN).compute_signature(PUBLIC + WEBHOOK, form)
        _request, answer = await self.app.asgi_client.post(
            WEBHOOK,
            content=urlencode(form),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "x-twilio-signature": signature,
            },
        )
        return answer.status


@pytest_asyncio.fixture
async def ingress(redis: Redis, redis_server: RedisServer) -> AsyncIterator[Ingress]:
    settings = worker_settings("http://127.0.0.1:9", redis_server, public_url=PUBLIC)
    rasa = FakeRasa(free_port())
    await rasa.start()
    app = build_app(
        settings,
        Upstream(f"http://127.0.0.1:{rasa.port}"),
        f"ingress_{uuid.uuid4().hex}",
    )
    yield Ingress(app, rasa)
    await rasa.stop()


async def test_a_signed_text_is_queued_here_and_never_reaches_rasa(
    ingress: Ingress, redis: Redis
) -> None:
    assert await ingress.post_text("are you open today") == 200
    queued = await redis.lrange(redis_keys.queue(CUSTOMER), 0, -1)
    assert len(queued) == 1 and "are you open today" in queued[0]
    assert ingress.rasa.seen == []


async def test_texts_are_stored_while_rasa_is_down(
    ingress: Ingress, redis: Redis
) -> None:
    """A Rasa restart loses no text: the webhook does not need Rasa to answer."""
    await ingress.rasa.stop()
    assert await ingress.post_text("still there?") == 200
    assert await redis.llen(redis_keys.queue(CUSTOMER)) == 1
    _request, answer = await ingress.app.asgi_client.get("/version?token=right-token")
    assert answer.status == 502
    assert answer.json["reason"] == "UpstreamUnavailable"


async def test_other_paths_reach_rasa_unchanged_and_rasa_still_decides_access(
    ingress: Ingress,
) -> None:
    _request, denied = await ingress.app.asgi_client.get("/conversations/x/tracker")
    assert denied.status == 401  # the ingress adds no way around Rasa's credential
    _request, answer = await ingress.app.asgi_client.post(
        "/webhooks/rest/webhook?token=right-token&x=%2B1",
        content=json.dumps({"sender": "+14155552671", "message": "hi"}),
        headers={"content-type": "application/json", "X-Rest-Secret": "s" * 16},
    )
    assert answer.status == 200
    assert answer.json == [{"text": "hi from rasa"}]
    assert answer.headers.get_list("set-cookie") == ["a=1", "b=2"]
    forwarded = ingress.rasa.seen[-1]
    assert forwarded == {
        "method": "POST",
        "path_qs": "/webhooks/rest/webhook?token=right-token&x=%2B1",
        "body": json.dumps({"sender": "+14155552671", "message": "hi"}),
        "secret": "s" * 16,
    }


async def test_health_is_answered_here_and_says_whether_rasa_is_up(
    ingress: Ingress,
) -> None:
    _request, answer = await ingress.app.asgi_client.get("/webhooks/twilio_sms/")
    assert (answer.status, answer.json["status"]) == (200, "ok")
    assert answer.json["rasa"] == "ok"
    assert [seen["path_qs"] for seen in ingress.rasa.seen] == ["/webhooks/twilio_sms/"]
    await ingress.rasa.stop()
    _request, answer = await ingress.app.asgi_client.get("/webhooks/twilio_sms/")
    # Texts are still taken (they wait in Redis): healthy, with Rasa reported down.
    assert (answer.status, answer.json["rasa"]) == (200, "unavailable")


def test_settings_come_from_the_channel_section_with_variables_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGRESS_TEST_TOKEN", "t" * 32)
    path = tmp_path / "credentials.yml"
    path.write_text(
        "connectors.twilio_sms.TwilioSmsInput:\n"
        f"  account_sid: {SID}\n"
        "  auth_token: ${INGRESS_TEST_TOKEN}\n"
        f"  public_url: {PUBLIC}\n"
        f'  numbers: "{BUSINESS}"\n'
    )
    assert load_settings(str(path)).auth_token == "t" * 32
    path.write_text("rest:\n")
    with pytest.raises(SettingsError, match="no connectors.twilio_sms"):
        load_settings(str(path))
