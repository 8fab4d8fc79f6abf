"""The emulator answers twilio-python's real async client as Twilio does, and signs what
it sends so that twilio-python's own RequestValidator accepts it.

Real parts only: the emulator on a loopback port, twilio's Client with
AsyncTwilioHttpClient, and a small aiohttp receiver standing in for the project's webhook.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tools.emulator import EmulatorConfig, running_emulator
from tools.emulator.config import DEFAULT_ACCOUNT_SID as SID
from tools.emulator.config import DEFAULT_AUTH_TOKEN as TOKEN
from tools.emulator.segments import GSM7_BASIC, count_segments

CUSTOMER, BUSINESS = "+15551230001", "+15557654321"
SERVICE = "MG" + "ab" * 16
SID_RE = re.compile(r"^(SM|MM)[0-9a-f]{32}$")
INBOUND_FIELDS = {
    "MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "From", "To", "Body",
    "NumMedia", "NumSegments", "SmsStatus", "ApiVersion", "FromCity", "FromState",
    "FromZip", "FromCountry", "ToCity", "ToState", "ToZip", "ToCountry",
}  # fmt: skip


@dataclass(frozen=True)
class Received:
    path: str
    form: dict[str, str]
    signature_valid: bool


class Receiver:
    """Records signed POSTs and checks them with twilio's RequestValidator, as the
    project's webhook will."""

    def __init__(self, public_url: str | None = None) -> None:
        self.public_url = public_url  # what the signature must cover, if not our URL
        self.received: list[Received] = []
        self.answer: tuple[int, str] = (200, "<Response/>")
        self._changed = asyncio.Event()
        self.base_url = ""

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        signature = request.headers.get("X-Twilio-Signature", "")
        # request.url is avoided: aiohttp 3.9.5 with this yarl cannot rebuild it.
        url = self.public_url or f"http://{request.host}{request.raw_path}"
        valid = RequestValidator(TOKEN).validate(url, form, signature)
        self.received.append(Received(request.path, {**form}, valid))  # type: ignore[dict-item]
        self._changed.set()
        self._changed = asyncio.Event()
        status, text = self.answer
        return web.Response(status=status, text=text, content_type="text/xml")

    async def wait_for(
        self, count: int, path: str, timeout: float = 5.0
    ) -> list[Received]:
        async def enough() -> list[Received]:
            while len(got := [r for r in self.received if r.path == path]) < count:
                await self._changed.wait()
            return got

        return await asyncio.wait_for(enough(), timeout)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", recv.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    recv.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield recv
    await runner.cleanup()


def emulator_config(receiver: Receiver, **overrides: Any) -> EmulatorConfig:
    settings: dict[str, Any] = {
        "webhook_url": f"{receiver.base_url}/webhook",
        "status_delay_ms": 20,
        "seed": 7,
    }
    return EmulatorConfig(**{**settings, **overrides})


@pytest_asyncio.fixture
async def emulator(receiver: Receiver) -> AsyncIterator[str]:
    async with running_emulator(emulator_config(receiver)) as base_url:
        yield base_url


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture
async def twilio(emulator: str) -> AsyncIterator[Client]:
    client = twilio_client(emulator)
    yield client
    await client.http_client.close()  # type: ignore[attr-defined]


def twilio_client(base_url: str, token: str = TOKEN, **kwargs: Any) -> Client:
    """The project's sender setup: real Client, async HTTP client, api.base_url."""
    client = Client(SID, token, http_client=AsyncTwilioHttpClient(timeout=10), **kwargs)
    client.api.base_url = base_url
    return client


async def control(http: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> Any:
    async with http.request(method, url, **kw) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def sent_log(http: aiohttp.ClientSession, emulator: str) -> list[dict[str, Any]]:
    return (await control(http, "GET", f"{emulator}/_emulator/messages"))["messages"]


# --- segments (pure) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters count 2
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 152, 3),  # "€" never straddles two parts
        ("ĉ" * 70, 1),  # one non-GSM character makes it UCS-2
        ("ĉ" * 71, 2),
        ("😀" * 35, 1),  # an emoji is 2 UCS-2 units
        ("😀" * 36, 2),
    ],
)
def test_segments_follow_gsm7_and_ucs2_budgets(text: str, segments: int) -> None:
    assert count_segments(text) == segments


@given(st.text(alphabet=sorted(GSM7_BASIC), max_size=1600))
def test_basic_gsm7_segments_are_160_then_153(text: str) -> None:
    expected = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    assert count_segments(text) == expected


# --- Messages REST API through twilio-python -----------------------------------------


async def test_create_async_returns_a_twilio_message(twilio: Client) -> None:
    msg = await twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="Hi")
    assert SID_RE.match(msg.sid) and msg.sid.startswith("SM")
    assert (msg.status, msg.num_segments, msg.num_media) == ("queued", "1", "0")
    assert (msg.to, msg.from_, msg.body, msg.account_sid) == (
        CUSTOMER,
        BUSINESS,
        "Hi",
        SID,
    )
    assert (msg.direction, msg.api_version) == ("outbound-api", "2010-04-01")
    assert msg.date_created is not None and msg.price is None and msg.error_code is None
    assert msg.uri == f"/2010-04-01/Accounts/{SID}/Messages/{msg.sid}.json"
    long = await twilio.messages.create_async(
        to=CUSTOMER, from_=BUSINESS, body="é" * 161
    )
    assert long.num_segments == "2"


async def test_messaging_service_send_is_accepted_without_from(twilio: Client) -> None:
    msg = await twilio.messages.create_async(
        to=CUSTOMER, messaging_service_sid=SERVICE, body="Hi"
    )
    assert (msg.status, msg.from_, msg.messaging_service_sid) == (
        "accepted",
        None,
        SERVICE,
    )


async def test_fetch_shows_the_status_moving_to_delivered(twilio: Client) -> None:
    msg = await twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="Hi")
    await asyncio.sleep(0.3)
    fetched = await twilio.messages(msg.sid).fetch_async()
    assert (fetched.status, fetched.body) == ("delivered", "Hi")
    assert fetched.date_sent is not None


async def test_list_is_newest_first_and_filters_by_to_and_from(
    twilio: Client,
) -> None:
    first = await twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="1")
    second = await twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="2")
    await twilio.messages.create_async(to="+15551230002", from_=BUSINESS, body="x")
    listed = await twilio.messages.list_async(to=CUSTOMER, limit=20)
    assert [m.sid for m in listed] == [second.sid, first.sid]
    assert listed[0].date_created is not None and listed[0].body == "2"
    none = await twilio.messages.list_async(to=CUSTOMER, from_="+15550000000")
    assert none == []


async def rest_error(coro: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        await coro
    return caught.value


async def test_wrong_token_is_401_authenticate(emulator: str) -> None:
    client = twilio_client(emulator, token="not-the-token")  # noqa: S106
    error = await rest_error(
        client.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="x")
    )
    await client.http_client.close()  # type: ignore[attr-defined]
    assert (error.status, error.code) == (401, 20003)


async def test_another_accounts_path_is_404(emulator: str) -> None:
    client = twilio_client(emulator, account_sid="AC" + "0" * 32)
    error = await rest_error(
        client.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="x")
    )
    await client.http_client.close()  # type: ignore[attr-defined]
    assert (error.status, error.code) == (404, 20404)


async def test_missing_auth_gets_twilio_shaped_401(
    emulator: str, http: aiohttp.ClientSession
) -> None:
    url = f"{emulator}/2010-04-01/Accounts/{SID}/Messages.json"
    async with http.post(
        url, data={"To": CUSTOMER, "From": BUSINESS, "Body": "x"}
    ) as r:
        assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
        assert await r.json() == {
            "code": 20003,
            "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003",
            "status": 401,
        }


@pytest.mark.parametrize(
    ("to", "from_", "body", "code"),
    [
        ("5551230001", BUSINESS, "x", 21211),
        ("+1abc", BUSINESS, "x", 21211),
        (CUSTOMER, None, "x", 21603),
        (CUSTOMER, BUSINESS, None, 21602),
        (CUSTOMER, BUSINESS, "x" * 1601, 21617),
        ("+15005550001", BUSINESS, "x", 21211),  # Twilio's magic test numbers
        ("+15005550002", BUSINESS, "x", 21612),
        ("+15005550003", BUSINESS, "x", 21408),
        ("+15005550004", BUSINESS, "x", 21610),
        ("+15005550009", BUSINESS, "x", 21614),
        (CUSTOMER, "+15005550007", "x", 21606),
    ],
)
async def test_invalid_creates_get_twilio_400s(
    twilio: Client, to: str, from_: str | None, body: str | None, code: int
) -> None:
    fields = {"to": to, "from_": from_, "body": body}
    send = twilio.messages.create_async(**{k: v for k, v in fields.items() if v})
    error = await rest_error(send)
    assert (error.status, error.code) == (400, code)


async def test_body_of_1600_is_accepted(twilio: Client) -> None:
    msg = await twilio.messages.create_async(
        to=CUSTOMER, from_=BUSINESS, body="x" * 1600
    )
    assert msg.num_segments == "11"


async def test_forced_failures_then_ok(
    twilio: Client, emulator: str, http: aiohttp.ClientSession
) -> None:
    force = {"force": ["20429", "500", "21610", "ok"], "failures": {"20429": 1.0}}
    await control(http, "POST", f"{emulator}/_emulator/config", json=force)

    def send() -> Any:
        return twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="x")

    throttled, ambiguous, opted_out = [await rest_error(send()) for _ in range(3)]
    assert (throttled.status, throttled.code) == (429, 20429)
    assert (ambiguous.status, ambiguous.code) == (500, 20500)
    assert (opted_out.status, opted_out.code) == (400, 21610)
    assert (await send()).status == "queued"  # "ok" beats the 100% failure mix
    assert (await rest_error(send())).code == 20429  # then the mix applies again
    # Only the ambiguous 500 and the forced ok were really sent.
    assert len(await sent_log(http, emulator)) == 2


async def test_500_can_be_configured_to_send_nothing(
    twilio: Client, emulator: str, http: aiohttp.ClientSession
) -> None:
    body = {"force": ["20500"], "ambiguous_500_sends": False}
    await control(http, "POST", f"{emulator}/_emulator/config", json=body)
    error = await rest_error(
        twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="x")
    )
    assert error.status == 500 and await sent_log(http, emulator) == []


async def test_config_rejects_unknown_codes(
    emulator: str, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{emulator}/_emulator/config", json={"force": ["404"]}) as r:
        assert r.status == 400


async def test_latency_delays_the_answer(
    twilio: Client, emulator: str, http: aiohttp.ClientSession
) -> None:
    await control(
        http, "POST", f"{emulator}/_emulator/config", json={"latency_ms": 300}
    )
    started = time.perf_counter()
    await twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="x")
    assert time.perf_counter() - started >= 0.3


# --- status callbacks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "final"), [(CUSTOMER, "delivered"), ("+15005550006", "undelivered")]
)
async def test_status_callbacks_are_signed_and_in_order(
    twilio: Client, receiver: Receiver, to: str, final: str
) -> None:
    callback = f"{receiver.base_url}/status?tenant=1"
    msg = await twilio.messages.create_async(
        to=to, from_=BUSINESS, body="Hi", status_callback=callback
    )
    posts = await receiver.wait_for(3, "/status")
    assert [p.form["MessageStatus"] for p in posts] == ["queued", "sent", final]
    assert all(p.signature_valid for p in posts)
    for post in posts:
        form = post.form
        assert (form["MessageSid"], form["SmsSid"]) == (msg.sid, msg.sid)
        assert (form["AccountSid"], form["From"], form["To"]) == (SID, BUSINESS, to)
        assert form["SmsStatus"] == form["MessageStatus"]
        assert form["ApiVersion"] == "2010-04-01"
    assert "RawDlrDoneDate" in posts[2].form and "RawDlrDoneDate" not in posts[1].form
    assert posts[2].form.get("ErrorCode") == (
        "30003" if final == "undelivered" else None
    )


async def test_service_callbacks_carry_the_service_sid(
    twilio: Client, receiver: Receiver
) -> None:
    await twilio.messages.create_async(
        to=CUSTOMER,
        messaging_service_sid=SERVICE,
        body="Hi",
        status_callback=f"{receiver.base_url}/status",
    )
    posts = await receiver.wait_for(3, "/status")
    assert {p.form["MessagingServiceSid"] for p in posts} == {SERVICE}
    assert all(p.signature_valid and p.form["From"] for p in posts)


async def test_a_dead_callback_url_never_stops_the_emulator(
    twilio: Client, emulator: str, http: aiohttp.ClientSession
) -> None:
    dead = "http://127.0.0.1:9/status"  # discard port: connection refused
    msg = await twilio.messages.create_async(
        to=CUSTOMER, from_=BUSINESS, body="Hi", status_callback=dead
    )
    await asyncio.sleep(0.3)
    assert (await twilio.messages(msg.sid).fetch_async()).status == "delivered"
    assert await control(http, "GET", f"{emulator}/_emulator/health") == {"ok": True}


# --- inbound texts -------------------------------------------------------------------------


async def text_in(
    http: aiohttp.ClientSession, emulator: str, query: str = "", **payload: Any
) -> dict[str, Any]:
    body = {"from": CUSTOMER, "to": BUSINESS, **payload}
    return await control(
        http, "POST", f"{emulator}/_emulator/inbound{query}", json=body
    )


async def test_inbound_text_is_signed_with_every_twilio_field(
    emulator: str, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    result = await text_in(http, emulator, body="Hi there")
    (post,) = await receiver.wait_for(1, "/webhook")
    form = post.form
    assert post.signature_valid
    assert INBOUND_FIELDS <= set(form) and "MediaUrl0" not in form
    assert SID_RE.match(form["MessageSid"]) and form["MessageSid"].startswith("SM")
    assert form["MessageSid"] == form["SmsSid"] == form["SmsMessageSid"]
    assert result["message_sid"] == form["MessageSid"]
    assert (form["From"], form["To"], form["Body"]) == (CUSTOMER, BUSINESS, "Hi there")
    assert (form["AccountSid"], form["SmsStatus"]) == (SID, "received")
    assert (form["NumMedia"], form["NumSegments"], form["FromCountry"]) == (
        "0",
        "1",
        "US",
    )
    assert (result["status"], result["response_body"]) == (200, "<Response/>")
    assert result["elapsed_ms"] >= 0 and result["error"] is None


async def test_inbound_media_fields_match_num_media(
    emulator: str, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    media = [
        {"url": "https://example.com/a.jpg", "content_type": "image/jpeg"},
        {"url": "https://example.com/b.png", "content_type": "image/png"},
    ]
    await text_in(http, emulator, body="", media=media, extra_fields={"NewField": "1"})
    (post,) = await receiver.wait_for(1, "/webhook")
    form = post.form
    assert post.signature_valid and form["NewField"] == "1"
    assert form["MessageSid"].startswith("MM") and form["NumMedia"] == "2"
    for n, item in enumerate(media):
        assert form[f"MediaUrl{n}"] == item["url"]
        assert form[f"MediaContentType{n}"] == item["content_type"]
    assert "MediaUrl2" not in form


async def test_inbound_is_signed_over_the_public_url(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    public = "https://sms.example.com/webhooks/twilio_sms/webhook"
    config = emulator_config(
        receiver, signing_url=public, messaging_service_sid=SERVICE
    )
    async with running_emulator(config) as emulator:
        await text_in(http, emulator, body="Hi")
    (post,) = await receiver.wait_for(1, "/webhook")
    assert not post.signature_valid  # the receiver checked its own URL
    assert post.form["MessagingServiceSid"] == SERVICE
    assert RequestValidator(TOKEN).validate(
        public, post.form, RequestValidator(TOKEN).compute_signature(public, post.form)
    )
    receiver.public_url = public
    async with running_emulator(config) as emulator:
        await text_in(http, emulator, body="Hi")
    assert (await receiver.wait_for(2, "/webhook"))[1].signature_valid


@pytest.mark.parametrize("query", ["?repeat=3", "?repeat=3&concurrent=1"])
async def test_repeat_delivers_the_same_message_sid(
    emulator: str, http: aiohttp.ClientSession, receiver: Receiver, query: str
) -> None:
    forced = "SM" + "0f" * 16
    result = await text_in(http, emulator, query, body="Hi", message_sid=forced)
    posts = await receiver.wait_for(3, "/webhook")
    assert {p.form["MessageSid"] for p in posts} == {forced}
    assert all(p.signature_valid for p in posts)
    assert [d["status"] for d in result["deliveries"]] == [200, 200, 200]


async def test_webhook_status_and_twiml_replies_come_back(
    emulator: str, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    receiver.answer = (403, "forged")
    assert (await text_in(http, emulator, body="Hi"))["status"] == 403
    receiver.answer = (200, "<Response><Message>TwiML hi</Message></Response>")
    await text_in(http, emulator, body="Hi")
    (reply,) = await sent_log(http, emulator)
    assert (reply["to"], reply["from"], reply["body"]) == (
        CUSTOMER,
        BUSINESS,
        "TwiML hi",
    )


async def test_stop_blocks_sends_until_start(
    twilio: Client, emulator: str, http: aiohttp.ClientSession
) -> None:
    await text_in(http, emulator, body=" stop ")
    error = await rest_error(
        twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="x")
    )
    assert error.code == 21610
    await text_in(http, emulator, body="START")
    assert (
        await twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="x")
    ).sid


# --- the sent-message log --------------------------------------------------------------


async def test_long_poll_returns_a_message_sent_after_it_started(
    twilio: Client, emulator: str, http: aiohttp.ClientSession
) -> None:
    first = await twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="old")
    cursor = (await control(http, "GET", f"{emulator}/_emulator/messages"))["next"]
    url = f"{emulator}/_emulator/messages?to={CUSTOMER}&after={cursor}&wait=10"
    poll = asyncio.create_task(control(http, "GET", url.replace("+", "%2B")))
    await asyncio.sleep(0.2)
    assert not poll.done()
    started = time.perf_counter()
    await twilio.messages.create_async(to="+15550009999", from_=BUSINESS, body="other")
    sent = await twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="new")
    page = await asyncio.wait_for(poll, 5)
    assert time.perf_counter() - started < 2
    assert [m["sid"] for m in page["messages"]] == [sent.sid] != [first.sid]
    (entry,) = page["messages"]
    assert (entry["to"], entry["from"], entry["body"], entry["num_segments"]) == (
        CUSTOMER,
        BUSINESS,
        "new",
        1,
    )
    assert page["next"] == entry["index"]


async def test_delete_clears_the_log_but_not_the_cursor(
    twilio: Client, emulator: str, http: aiohttp.ClientSession
) -> None:
    await twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="x")
    await control(http, "DELETE", f"{emulator}/_emulator/messages")
    page = await control(http, "GET", f"{emulator}/_emulator/messages?wait=0.1")
    assert page == {"messages": [], "next": 1}


async def test_a_seeded_failure_mix_repeats_exactly(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async def outcomes() -> list[int]:
        config = emulator_config(receiver, failures={"20429": 0.4, "500": 0.2}, seed=11)
        async with running_emulator(config) as emulator:
            url = f"{emulator}/2010-04-01/Accounts/{SID}/Messages.json"
            form = {"To": CUSTOMER, "From": BUSINESS, "Body": "x"}
            auth = aiohttp.BasicAuth(SID, TOKEN)
            statuses = []
            for _ in range(20):
                async with http.post(url, data=form, auth=auth) as response:
                    statuses.append(response.status)
            return statuses

    first = await outcomes()
    assert first == await outcomes()
    assert {201, 429, 500} <= set(first)


async def test_log_accepts_an_unencoded_plus(
    twilio: Client, emulator: str, http: aiohttp.ClientSession
) -> None:
    await twilio.messages.create_async(to=CUSTOMER, from_=BUSINESS, body="x")
    url = f"{emulator}/_emulator/messages?to={CUSTOMER}"
    assert len((await control(http, "GET", url))["messages"]) == 1
