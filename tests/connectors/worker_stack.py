"""SMS worker replicas inside the test process, on the real Redis and the local
Twilio emulator. Only Rasa's turn is scripted (`ScriptedBot`): the test chooses its
replies, how long it takes and whether it raises, and reads which turns ran.

A `Replica` is what one Rasa server runs for the SMS channel: its own Redis client
(with a short socket timeout, so that a paused Redis is an error within the test's
time), inbox, sender and worker. Several replicas share the Redis and the bot, as
replicas share Redis and the tracker store.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from rasa.core.channels.channel import UserMessage
from redis.asyncio import Redis

import redisio
from connectors.inbound import InboundSms
from connectors.inbox import Inbox, Outcome
from connectors.keywords import keyword
from connectors.output import SmsOutput
from connectors.sender import TwilioSender
from connectors.settings import SmsSettings
from connectors.worker import SmsWorker
from redisio import RedisSettings
from tools.emulator import EmulatorConfig, running_emulator
from tools.harness.redis_server import RedisServer

SID, TOKEN = "AC" + "8" * 32, "worker-test-token"
CUSTOMER, BUSINESS = "+14155552671", "+15017122661"


async def emulator_for_replicas() -> AsyncIterator[str]:
    """The local Twilio emulator, for this account (use as a pytest fixture)."""
    config = EmulatorConfig(account_sid=SID, auth_token=TOKEN, webhook_url=None)
    async with running_emulator(config) as url:
        yield url


def worker_settings(
    emulator: str, redis_server: RedisServer, **extra: object
) -> SmsSettings:
    """Seconds instead of minutes: leases, sweeps and retries all short."""
    return SmsSettings.from_credentials(
        {
            "account_sid": SID,
            "auth_token": TOKEN,
            "public_url": "http://127.0.0.1:9",
            "numbers": BUSINESS,
            "api_base_url": emulator,
            "redis_url": redis_server.url,
            "owner_lease_seconds": "1.5",
            "reclaim_after_seconds": "0.3",
            "sweep_interval_seconds": "0.1",
            "send_attempts": "2",
            "send_timeout_seconds": "5",
            "inactivity_warning_after_seconds": "0",
            **{k: str(v) for k, v in extra.items()},
        }
    )


@dataclass
class ScriptedBot:
    """Rasa's part of a turn, scripted; also answers the worker's questions about
    conversations, from what its turns did (as Rasa's tracker would)."""

    replies: Callable[[str], list[str]] = lambda text: [f"You said: {text}"]
    delay: float = 0.0
    turns: list[str] = field(default_factory=list)
    tracker: dict[str, list[tuple[str, list[dict[str, Any]]]]] = field(
        default_factory=dict
    )
    started: asyncio.Event = field(default_factory=asyncio.Event)  # a turn began

    async def on_new_message(self, message: UserMessage) -> None:
        self.turns.append(message.text or "")
        self.started.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        texts = self.replies(message.text or "")
        for text in texts:
            await message.output_channel.send_text_message(message.sender_id, text)
        self.tracker[str(message.message_id)] = [(t, []) for t in texts]

    async def has_active_session(self, customer: str) -> bool:
        return True

    async def session_expired(self, customer: str) -> bool:
        return False

    async def start_session(self, customer: str, output: SmsOutput) -> None:
        return None

    async def record_inactivity_warning(self, customer: str, text: str) -> bool:
        return False

    async def replies_to(
        self, customer: str, message_sid: str
    ) -> list[tuple[str, list[dict[str, Any]]]] | None:
        return self.tracker.get(message_sid)


@dataclass
class Replica:
    settings: SmsSettings
    redis: Redis
    inbox: Inbox
    sender: TwilioSender
    worker: SmsWorker

    @classmethod
    async def start(
        cls, settings: SmsSettings, bot: ScriptedBot, socket_timeout: float = 2.0
    ) -> Replica:
        # Each replica a pool of its own, as two processes would have.
        redis = redisio.separate(
            RedisSettings.from_url(settings.redis_url, socket_timeout=socket_timeout)
        )
        inbox = Inbox(redis, settings.dedupe_hours * 3600)
        sender = TwilioSender(settings, redis)
        worker = SmsWorker(settings, redis, inbox, sender, bot.on_new_message, bot)
        await worker.start()
        return cls(settings, redis, inbox, sender, worker)

    async def stop(self) -> None:
        await self.worker.stop()
        await self.sender.close()
        await self.redis.close()


def inbound(body: str, customer: str = CUSTOMER) -> InboundSms:
    return InboundSms(
        message_sid="SM" + secrets.token_hex(16),
        account_sid=SID,
        from_number=customer,
        to_number=BUSINESS,
        body=body,
        num_segments=1,
        media=(),
        messaging_service_sid=None,
    )


async def text_in(inbox: Inbox, body: str, customer: str = CUSTOMER) -> InboundSms:
    """What the webhook does with a text: one accept."""
    sms = inbound(body, customer)
    assert await inbox.accept(sms, keyword(body)) in (Outcome.QUEUED, Outcome.HELP)
    return sms


async def control(emulator: str, **config: object) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emulator}/_emulator/config", json=config) as response:
            assert response.status == 200, await response.text()


async def sent_to(
    emulator: str, to: str = CUSTOMER, wait: float = 0
) -> list[dict[str, Any]]:
    """The emulator's log of texts to `to`; `wait` long-polls for a first one."""
    async with aiohttp.ClientSession() as http:
        params = {"to": to, "wait": str(wait)}
        async with http.get(f"{emulator}/_emulator/messages", params=params) as r:
            return (await r.json())["messages"]


async def wait_for_texts(
    emulator: str, count: int, to: str = CUSTOMER, timeout: float = 20
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await sent_to(emulator, to)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    found = await sent_to(emulator, to)
    raise AssertionError(f"{len(found)} texts to {to}, expected {count}: {found}")


def inbound_form(body: str, sid: str | None = None) -> dict[str, str]:
    """The form Twilio posts for one text from CUSTOMER to BUSINESS."""
    return {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": SID,
        "From": CUSTOMER,
        "To": BUSINESS,
        "Body": body,
        "NumSegments": "1",
        "NumMedia": "0",
    }
