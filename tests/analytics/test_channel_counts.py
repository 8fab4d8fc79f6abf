"""The channel counts what happens once: the webhook Twilio retries, the status
callbacks Twilio repeats, the reply the sender records. In-process (Sanic's test
client, a real Redis, the local Twilio emulator); only Rasa's turn is scripted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
from redis.asyncio import Redis

from api.errors import ApiError
from connectors.sms_text import shape_turn
from tests.connectors.test_routes import PUBLIC, STATUS, WEBHOOK, Mounted, mount
from tests.connectors.worker_stack import (
    BUSINESS,
    CUSTOMER,
    ScriptedBot,
    emulator_for_replicas,
    inbound_form,
    wait_for_texts,
    worker_settings,
)
from tools.harness.redis_server import RedisServer

emulator = pytest_asyncio.fixture(emulator_for_replicas)


@pytest_asyncio.fixture
async def mounted(
    emulator: str, redis: Redis, redis_server: RedisServer
) -> AsyncIterator[Mounted]:
    settings = worker_settings(emulator, redis_server, public_url=PUBLIC)
    routes = await mount(settings, ScriptedBot())
    yield routes
    await routes.channel.stop()


def status_form(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "MessageStatus": status,
        "To": CUSTOMER,
        "From": BUSINESS,
        **extra,
    }


async def report(mounted: Mounted) -> dict:
    assert mounted.channel.api is not None
    return await mounted.channel.api.views.analytics({"days": ["7"]})


async def test_a_retried_text_its_reply_and_repeated_callbacks_count_once(
    mounted: Mounted, emulator: str
) -> None:
    form = inbound_form("are you open today")
    for _ in range(3):  # Twilio retries the webhook
        assert (await mounted.post(WEBHOOK, form))[0] == 200
    [reply] = await wait_for_texts(emulator, 1)
    for status in ("sent", "delivered", "delivered", "sent"):
        assert (await mounted.post(STATUS, status_form(reply["sid"], status)))[0] == 204
    await asyncio.sleep(0.2)

    found = await report(mounted)
    totals = found["totals"]
    assert (totals["inbound"], totals["segments_in"]) == (1, 1)
    assert (totals["outbound"], totals["segments_out"]) == (1, reply["num_segments"])
    assert (totals["delivered"], totals["failed"], totals["undelivered"]) == (1, 0, 0)
    assert totals["unique_numbers"] == 1
    assert found["delivery_rate"] == 1.0
    assert found["active_sessions"] == 1
    assert found["daily"][-1]["inbound"] == 1

    assert mounted.channel.api is not None
    views = mounted.channel.api.views
    listed = await views.conversations({})
    [row] = listed["conversations"]
    assert (row["number"], row["inbound"], row["outbound"]) == (CUSTOMER, 1, 1)
    assert row["state"] == "active" and row["line"] == BUSINESS
    thread = await views.log.thread(CUSTOMER)
    [out] = [item for item in thread["items"] if item.get("direction") == "out"]
    assert (out["text"], out["status"], out["message_sid"]) == (
        "You said: are you open today",
        "delivered",
        reply["sid"],
    )


async def test_stop_is_an_opt_out_and_the_conversation_shows_it(
    mounted: Mounted,
) -> None:
    assert (await mounted.post(WEBHOOK, inbound_form("STOP")))[0] == 200
    found = await report(mounted)
    assert (found["totals"]["inbound"], found["totals"]["opt_outs"]) == (1, 1)
    assert mounted.channel.api is not None
    listed = await mounted.channel.api.views.conversations({"search": ["2671"]})
    assert [row["state"] for row in listed["conversations"]] == ["opted_out"]
    none = await mounted.channel.api.views.conversations({"search": ["9999"]})
    assert none["conversations"] == [] and none["total"] == 0


async def test_a_refused_send_is_a_failure_with_its_code(
    mounted: Mounted, emulator: str, redis: Redis
) -> None:
    """Twilio refusing the number (21211, the emulator's +15005550001) is a failed
    text with its code; nothing went out, so no outbound text is counted."""
    sender = mounted.channel.sender
    assert sender is not None
    [part] = shape_turn(["hello"], max_length=1600, max_parts=1)
    result = await sender.send("+15005550001", BUSINESS, part)
    assert result.status == "failed"
    found = await report(mounted)
    assert found["totals"]["failed"] == 1 and found["totals"]["outbound"] == 0
    assert found["failed_by_code"] == {"21211": 1}
    assert found["delivery_rate"] == 0.0


async def test_bad_queries_are_400s_naming_the_mistake(mounted: Mounted) -> None:
    assert mounted.channel.api is not None
    views = mounted.channel.api.views
    for args, code in (
        ({"days": ["14"]}, "invalid_days"),
        ({"days": ["7"], "number": ["5017122661"]}, "invalid_number"),
        ({"days": ["7", "30"]}, "invalid_query"),
        ({"when": ["today"]}, "invalid_query"),
    ):
        try:
            await views.analytics(args)
        except ApiError as err:
            assert (err.status, err.code) == (400, code), args
        else:
            raise AssertionError(f"{args} was accepted")
    for args in ({"page": ["0"]}, {"per_page": ["101"]}, {"search": ["1" * 33]}):
        try:
            await views.conversations(args)
        except ApiError as err:
            assert err.status == 400, args
        else:
            raise AssertionError(f"{args} was accepted")
    for number, status in (("14155552671", 400), ("+14155550000", 404)):
        try:
            await views.thread(number)
        except ApiError as err:
            assert err.status == status
        else:
            raise AssertionError(f"{number} was found")
