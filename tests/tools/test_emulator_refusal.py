"""The emulator's refusal window: every send is Twilio's 20429 until it ends, and
nothing refused is stored, so tests can stage an outage of a known length."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio
from aiohttp import BasicAuth

from tools.emulator import EmulatorConfig, running_emulator
from tools.emulator.config import DEFAULT_ACCOUNT_SID as SID
from tools.emulator.config import DEFAULT_AUTH_TOKEN as TOKEN

FORM = {"To": "+14155552671", "From": "+15017122661", "Body": "hi"}


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[str]:
    async with running_emulator(EmulatorConfig(webhook_url=None)) as url:
        yield url


async def test_sends_are_refused_with_20429_for_the_window_then_taken(
    emulator: str,
) -> None:
    create = f"{emulator}/2010-04-01/Accounts/{SID}/Messages.json"
    async with aiohttp.ClientSession(auth=BasicAuth(SID, TOKEN)) as http:
        config = f"{emulator}/_emulator/config"
        async with http.post(config, json={"refuse_sends_ms": 600}) as r:
            assert 0 < (await r.json())["refuse_sends_ms"] <= 600
        async with http.post(create, data=FORM) as r:
            assert r.status == 429 and (await r.json())["code"] == 20429
        await asyncio.sleep(0.7)
        async with http.post(create, data=FORM) as r:
            assert r.status == 201
        async with http.get(f"{emulator}/_emulator/messages") as r:
            assert len((await r.json())["messages"]) == 1  # the refused one: not sent
        async with http.post(config, json={"refuse_sends_ms": -1}) as r:
            assert r.status == 400
