"""Sends through twilio-python's async client against the local Twilio emulator:
retry only what Twilio did not take, never send twice, never raise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.exceptions import RedisError

import redisio
from connectors import suppression
from connectors.part_claims import PartClaim
from connectors.sender import SendResult, TwilioSender
from connectors.settings import SmsSettings
from connectors.sms_text import shape_turn
from redisio import RedisSettings
from redisio import keys as redis_keys
from tests.redis_pause import client_pause
from tools.emulator import EmulatorConfig, running_emulator
from tools.harness.redis_server import RedisServer, free_port

SID, TOKEN = "AC" + "7" * 32, "sender-test-token"
CUSTOMER, BUSINESS = "+14155552671", "+15017122661"


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[str]:
    config = EmulatorConfig(account_sid=SID, auth_token=TOKEN, webhook_url=None)
    async with running_emulator(config) as url:
        yield url


def settings(api: str, redis_server: RedisServer, **extra: object) -> SmsSettings:
    return SmsSettings.from_credentials(
        {
            "account_sid": SID,
            "auth_token": TOKEN,
            "public_url": "http://127.0.0.1:9",
            "numbers": f"{BUSINESS},+15017122662",
            "api_base_url": api,
            "redis_url": redis_server.url,
            **extra,
        }
    )


@pytest_asyncio.fixture
async def sender(
    emulator: str, redis: Redis, redis_server: RedisServer
) -> AsyncIterator[TwilioSender]:
    sender = TwilioSender(settings(emulator, redis_server), redis)
    yield sender
    await sender.close()


async def control(emulator: str, **config: object) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emulator}/_emulator/config", json=config) as response:
            assert response.status == 200, await response.text()


async def sent(emulator: str, to: str = CUSTOMER) -> list[dict]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emulator}/_emulator/messages", params={"to": to}) as r:
            return (await r.json())["messages"]


def part(text: str = "Booked: Tue Mar 3, 10:00am.") -> object:
    return shape_turn([text])[0]


async def test_a_send_is_recorded_with_segments(
    sender: TwilioSender, emulator: str, redis: Redis
) -> None:
    result = await sender.send(CUSTOMER, "+15017122662", part("x" * 200))
    assert result.status == "queued" and result.sid and result.attempts == 1
    assert result.segments == 2
    [message] = await sent(emulator)
    assert message["from"] == "+15017122662"  # the number the customer texted
    record = await redis.hgetall(redis_keys.message(CUSTOMER, result.sid))
    assert record["segments"] == "2" and record["encoding"] == "GSM-7"
    assert await redis.lrange(redis_keys.sent(CUSTOMER), 0, -1) == [result.sid]


async def test_switched_off_it_sends_nothing(
    emulator: str, redis: Redis, redis_server: RedisServer
) -> None:
    """`enabled: false`: whoever asks (a reply, a warning, a reminder), no text."""
    off = TwilioSender(settings(emulator, redis_server, enabled=False), redis)
    try:
        result = await off.send(CUSTOMER, BUSINESS, part())
    finally:
        await off.close()
    assert (result.status, result.sid, result.retryable) == ("disabled", None, False)
    assert await sent(emulator) == []
    assert await redis.llen(redis_keys.sent(CUSTOMER)) == 0


async def test_20429_is_retried_until_twilio_takes_it(
    sender: TwilioSender, emulator: str
) -> None:
    await control(emulator, force=["20429", "20429", "ok"])
    result = await sender.send(CUSTOMER, BUSINESS, part())
    assert result.status == "queued" and result.attempts == 3
    assert len(await sent(emulator)) == 1


async def test_an_ambiguous_500_is_not_sent_again(
    sender: TwilioSender, emulator: str
) -> None:
    await control(emulator, force=["500"])
    result = await sender.send(CUSTOMER, BUSINESS, part())
    assert result == SendResult(None, "unknown", 1, 1, 20500, result.error_message)
    # Twilio had in fact queued it: a retry would have made two.
    assert len(await sent(emulator)) == 1


async def test_21610_suppresses_the_pair(sender: TwilioSender, redis: Redis) -> None:
    blocked = "+15005550004"  # Twilio's magic "unsubscribed recipient"
    result = await sender.send(blocked, BUSINESS, part())
    assert result.status == "failed" and result.error_code == 21610
    assert await suppression.is_suppressed(redis, blocked, BUSINESS)
    again = await sender.send(blocked, BUSINESS, part())
    assert again.status == "suppressed" and again.attempts == 0


@pytest.mark.parametrize(
    ("to", "code"), [("+15005550001", 21211), ("+15005550009", 21614)]
)
async def test_bad_recipients_are_failed_not_retried(
    sender: TwilioSender, to: str, code: int
) -> None:
    result = await sender.send(to, BUSINESS, part())
    assert (result.status, result.error_code, result.attempts) == ("failed", code, 1)


async def test_no_connection_is_retried_then_reported(
    redis: Redis, redis_server: RedisServer
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    sender = TwilioSender(settings(closed, redis_server, send_attempts="2"), redis)
    try:
        result = await sender.send(CUSTOMER, BUSINESS, part())
    finally:
        await sender.close()
    assert (result.status, result.attempts) == ("failed", 2)


async def test_a_messaging_service_sends_for_every_number(
    emulator: str, redis: Redis, redis_server: RedisServer
) -> None:
    service = "MG" + "c" * 32
    sender = TwilioSender(
        settings(emulator, redis_server, numbers="", messaging_service_sid=service),
        redis,
    )
    try:
        result = await sender.send(CUSTOMER, BUSINESS, part())
    finally:
        await sender.close()
    assert result.status == "accepted"
    [message] = await sent(emulator)
    assert message["messaging_service_sid"] == service


async def test_redis_down_is_a_result_not_an_exception_and_nothing_is_sent(
    emulator: str, redis_server: RedisServer
) -> None:
    """The opt-out list cannot be read: nothing goes out, and the worker is told
    it may try again (Twilio has nothing)."""
    down = redisio.separate(
        RedisSettings.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=1)
    )
    sender = TwilioSender(settings(emulator, redis_server), down)
    try:
        result = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    finally:
        await sender.close()
        await down.close()
    assert (result.status, result.retryable, result.sid) == ("failed", True, None)
    assert await sent(emulator) == []


async def test_a_part_is_sent_at_most_once_whoever_sends_it_again(
    sender: TwilioSender, emulator: str
) -> None:
    first = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    again = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    other = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:1")
    assert again.replayed and again.sid == first.sid and again.status == "queued"
    assert other.sid not in (None, first.sid)
    assert len(await sent(emulator)) == 2


async def test_a_part_whose_sender_died_before_twilio_had_it_is_sent_once(
    sender: TwilioSender, emulator: str, redis: Redis
) -> None:
    """A replica killed between claiming a part and Twilio's answer leaves the
    claim; once it is older than a request could take, Twilio is asked, and a
    part Twilio does not have goes out, once."""
    stale = f"sending:dead-worker:{time.time() - 60:.3f}"
    await redis.set(redis_keys.part_sent(CUSTOMER, "SMa:0"), stale)
    result = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    assert (result.status, result.replayed) == ("queued", False)
    again = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    assert again.replayed and again.sid == result.sid
    assert [m["body"] for m in await sent(emulator)] == [part().body]


async def test_a_part_whose_sender_died_after_twilio_took_it_is_not_sent_again(
    sender: TwilioSender, emulator: str, redis: Redis
) -> None:
    claimed_at = time.time() - 60
    await redis.set(
        redis_keys.part_sent(CUSTOMER, "SMa:0"), f"sending:dead:{claimed_at:.3f}"
    )
    # What the dead sender's request did before it died: Twilio has the text, and
    # nothing of ours recorded it.
    took = await sender.client.messages.create_async(
        to=CUSTOMER, from_=BUSINESS, body=part().body
    )
    result = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    assert (result.sid, result.replayed) == (took.sid, True)
    assert len(await sent(emulator)) == 1
    stored = await redis.get(redis_keys.part_sent(CUSTOMER, "SMa:0"))
    assert took.sid is not None and took.sid in stored


async def test_a_part_another_sender_is_sending_now_is_left_to_it(
    sender: TwilioSender, emulator: str, redis: Redis
) -> None:
    """A claim younger than one request may be in flight: not sent, not given up
    (retryable); once that sender records its result, the result is the answer."""
    key = redis_keys.part_sent(CUSTOMER, "SMa:0")
    await redis.set(key, f"sending:alive:{time.time():.3f}")
    waiting = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    assert (waiting.retryable, waiting.replayed, waiting.sid) == (True, True, None)
    assert await sent(emulator) == []
    done = SendResult("SMdone", "queued", 1, 1)
    await redis.set(key, done.to_json())
    later = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    assert (later.sid, later.replayed, later.retryable) == ("SMdone", True, False)
    assert await sent(emulator) == []


async def test_a_part_twilio_refused_goes_out_on_a_later_try(
    emulator: str, redis: Redis, redis_server: RedisServer
) -> None:
    sender = TwilioSender(settings(emulator, redis_server, send_attempts="2"), redis)
    try:
        await control(emulator, force=["20429", "20429"])
        refused = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
        assert (refused.status, refused.retryable, refused.attempts) == (
            "failed",
            True,
            2,
        )
        assert await sent(emulator) == []
        # Not final, so not in the message log yet.
        assert await redis.llen(redis_keys.sent(CUSTOMER)) == 0
        later = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    finally:
        await sender.close()
    assert later.status == "queued" and not later.replayed
    assert len(await sent(emulator)) == 1


async def test_a_twilio_that_does_not_answer_is_given_up_after_send_timeout(
    emulator: str, redis: Redis, redis_server: RedisServer
) -> None:
    """twilio 8.2 hands aiohttp a timeout of None per request, which waits forever:
    the sender must still stop waiting after `send_timeout_seconds`, and not send
    again (the request may have reached Twilio)."""
    await control(emulator, latency_ms=20_000)
    sender = TwilioSender(
        settings(emulator, redis_server, send_timeout_seconds=1), redis
    )
    try:
        started = time.monotonic()
        result = await sender.send(CUSTOMER, BUSINESS, part(), part_id="slow-1")
        took = time.monotonic() - started
    finally:
        await sender.close()
    assert took < 5, f"waited {took:.1f} s for a send with a 1 s timeout"
    assert result.status == "unknown" and not result.retryable


async def test_an_earlier_identical_reply_is_not_taken_for_an_interrupted_one(
    sender: TwilioSender, emulator: str, redis: Redis
) -> None:
    """FAQ answers repeat: the same text sent to the customer for another part
    must not count as the interrupted part's send (a lost reply in the soak)."""
    first = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    claimed_at = time.time() - 60
    await redis.set(
        redis_keys.part_sent(CUSTOMER, "SMb:0"), f"sending:dead:{claimed_at:.3f}"
    )
    second = await sender.send(CUSTOMER, BUSINESS, part(), "SMb:0")
    assert (second.replayed, second.status) == (False, "queued")
    assert second.sid != first.sid
    assert len(await sent(emulator)) == 2
    # Two interrupted parts with the same text and one message at Twilio: one
    # adopts it, the other is sent.
    orphan = await sender.client.messages.create_async(
        to=CUSTOMER, from_=BUSINESS, body=part().body
    )
    for part_id in ("SMc:0", "SMd:0"):
        await redis.set(
            redis_keys.part_sent(CUSTOMER, part_id), f"sending:dead:{claimed_at:.3f}"
        )
    c = await sender.send(CUSTOMER, BUSINESS, part(), "SMc:0")
    d = await sender.send(CUSTOMER, BUSINESS, part(), "SMd:0")
    assert (c.sid, c.replayed) == (orphan.sid, True)
    assert d.sid not in (orphan.sid, first.sid, second.sid) and not d.replayed
    assert len(await sent(emulator)) == 4


async def _paused_writes(redis: Redis, after: float, ms: int) -> None:
    await asyncio.sleep(after)
    await client_pause(redis, ms, "WRITE")


async def test_a_send_redis_could_not_record_is_known_to_its_sender_at_once(
    emulator: str, redis: Redis, redis_server: RedisServer
) -> None:
    """Redis stops taking writes while a part is at Twilio: the claim stays
    "sending". The next try of the part in this process is not left waiting on
    a claim it holds itself (a whole send timeout, a flaky test): it knows the
    result, and Twilio gets the text once."""
    slow = redisio.separate(
        RedisSettings.from_url(redis_server.url, socket_timeout=0.3)
    )
    sender = TwilioSender(settings(emulator, redis_server), slow)  # timeout 10 s
    try:
        await control(emulator, latency_ms=1000)
        pause = asyncio.create_task(_paused_writes(redis, 0.4, 1600))
        first = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
        await pause
        stuck = await redis.get(redis_keys.part_sent(CUSTOMER, "SMa:0"))
        assert stuck.startswith("sending:"), "Redis recorded it: nothing to test"
        await asyncio.sleep(1.5)  # the pause is over
        again = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    finally:
        await sender.close()
        await slow.close()
    assert (first.status, first.sid is not None) == ("queued", True)
    assert (again.sid, again.replayed, again.retryable) == (first.sid, True, False)
    assert first.sid in await redis.get(redis_keys.part_sent(CUSTOMER, "SMa:0"))
    assert len(await sent(emulator)) == 1


async def test_a_claim_redis_took_after_its_sender_gave_up_is_still_its_own(
    sender: TwilioSender, emulator: str, redis: Redis
) -> None:
    """A claim's script can run although the sender timed out waiting for it; no
    request went out for it, so the part's next try here sends at once."""
    down = redisio.separate(
        RedisSettings.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=1)
    )
    claim = PartClaim(down, CUSTOMER, "SMa:0", sender.unsettled)
    try:
        with pytest.raises(RedisError):
            await claim.take()
    finally:
        await down.close()
    await redis.set(redis_keys.part_sent(CUSTOMER, "SMa:0"), claim.token)  # it ran
    result = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    assert (result.status, result.replayed, result.retryable) == (
        "queued",
        False,
        False,
    )
    assert len(await sent(emulator)) == 1
    assert len(sender.unsettled) == 0


async def test_a_retry_redis_cannot_claim_again_is_not_sent(
    emulator: str, redis: Redis, redis_server: RedisServer
) -> None:
    """Twilio refuses the first request (20429) and Redis stops taking writes
    during the backoff: another sender may have claimed the part meanwhile, so
    the retry does not go; the part goes later, once."""
    slow = redisio.separate(
        RedisSettings.from_url(redis_server.url, socket_timeout=0.3)
    )
    sender = TwilioSender(settings(emulator, redis_server, send_attempts="2"), slow)
    try:
        await control(emulator, latency_ms=600, force=["20429"])
        pause = asyncio.create_task(_paused_writes(redis, 0.3, 2500))
        refused = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
        await pause
        assert await sent(emulator) == []
        await asyncio.sleep(2.5)  # the pause is over
        await control(emulator, latency_ms=0)
        later = await sender.send(CUSTOMER, BUSINESS, part(), "SMa:0")
    finally:
        await sender.close()
        await slow.close()
    assert (refused.sid, refused.retryable) == (None, True)
    assert (later.status, later.replayed) == ("queued", False)
    assert len(await sent(emulator)) == 1
