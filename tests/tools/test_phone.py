"""The terminal phone texts through the emulator and prints the replies a webhook sends
back through twilio-python: the real `python -m tools.phone` process, piped stdin."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from aiohttp import web
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tools.emulator import EmulatorConfig, running_emulator
from tools.emulator.config import DEFAULT_ACCOUNT_SID as SID
from tools.emulator.config import DEFAULT_AUTH_TOKEN as TOKEN
from tools.phone import format_delivery, format_reply, segments_label

ROOT = Path(__file__).parents[2]
CUSTOMER, BUSINESS = "+15551230001", "+15557654321"


class EchoWebhook:
    """Stands in for the assistant: checks the signature, then replies
    `echo: <body>` through the emulator with the real twilio client."""

    def __init__(self) -> None:
        self.url = ""
        self.client: Client | None = None

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        signed_url = f"http://{request.host}{request.raw_path}"
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(TOKEN).validate(signed_url, form, signature):
            return web.Response(status=403, text="bad signature")
        if form["Body"] == "forbidden":
            return web.Response(status=403, text="Forbidden by the test")
        assert self.client is not None
        await self.client.messages.create_async(
            to=form["From"], from_=form["To"], body=f"echo: {form['Body']}"
        )
        return web.Response(text="<Response/>", content_type="text/xml")


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[str]:
    webhook = EchoWebhook()
    app = web.Application()
    app.router.add_post("/webhook", webhook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    webhook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhook"
    config = EmulatorConfig(webhook_url=webhook.url, status_delay_ms=10)
    async with running_emulator(config) as base_url:
        http_client = AsyncTwilioHttpClient(timeout=10)
        webhook.client = Client(SID, TOKEN, http_client=http_client)
        webhook.client.api.base_url = base_url
        yield base_url
        await http_client.close()
    await runner.cleanup()


async def test_phone_prints_replies_with_their_segments(emulator: str) -> None:
    long_text = "x" * 200  # "echo: " + 200 characters is two GSM-7 segments
    stdin = f"hello\n\n{long_text}\nforbidden\n".encode()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tools.phone",
        "--emulator",
        emulator,
        "--from",
        CUSTOMER,
        "--to",
        BUSINESS,
        "--linger",
        "1",
        "--poll-wait",
        "2",
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=20)
    lines = out.decode().splitlines()
    assert process.returncode == 0, err.decode()
    assert lines[0] == (
        f"Texting {BUSINESS} as {CUSTOMER}; type a message, Ctrl-D to quit"
    )
    assert "< echo: hello [1 segment]" in lines
    assert f"< echo: {long_text} [2 segments]" in lines
    assert "! webhook answered 403: Forbidden by the test" in lines
    assert "> hello" in lines and "> " not in lines  # the blank line is not sent


def test_reply_and_error_lines() -> None:
    assert segments_label(1) == "[1 segment]" and segments_label(3) == "[3 segments]"
    assert format_reply({"body": "a\nb", "num_segments": 1}) == "< a\n  b [1 segment]"
    assert format_delivery({"status": 200, "error": None}) is None
    assert format_delivery({"status": 500, "response_body": "boom\n  here"}) == (
        "! webhook answered 500: boom here"
    )
    assert format_delivery({"status": None, "error": "refused"}) == (
        "! webhook unreachable: refused"
    )
