"""`make check-credentials` against the project's Twilio emulator: the real CLI
(`main(argv, env)` in a thread, and once the `python -m` process the Makefile runs)
asks twilio-python's own client, and the tests read what an operator would see.

The first part checks the emulator's read-only account routes themselves (Account,
IncomingPhoneNumbers, Messaging Services v1) with twilio's async client.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from tools import check_credentials
from tools.check_credentials import messaging_base_url
from tools.emulator import EmulatorConfig, running_emulator
from tools.emulator.config import DEFAULT_ACCOUNT_SID as SID
from tools.emulator.config import DEFAULT_AUTH_TOKEN as TOKEN

ROOT = Path(__file__).parents[2]
PUBLIC_URL = "https://bot.example.com"
WEBHOOK = f"{PUBLIC_URL}/webhooks/twilio_sms/webhook"
MAIN, SECOND, NOT_OURS = "+15017122661", "+15017122662", "+15017120123"
SERVICE = "MG" + "ab" * 16
ACCOUNT_LINE = "ok    account AC…e1e1: active"


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[str]:
    """The account owns MAIN and SECOND, both pointing at WEBHOOK, and a Messaging
    Service SERVICE holding both and sending incoming texts to WEBHOOK too."""
    config = EmulatorConfig(
        webhook_url=WEBHOOK,
        numbers=(MAIN, SECOND),
        messaging_service_sid=SERVICE,
    )
    async with running_emulator(config) as base_url:
        yield base_url


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def control(
    http: aiohttp.ClientSession, url: str, payload: dict[str, Any], status: int = 200
) -> Any:
    async with http.post(url, json=payload) as response:
        assert response.status == status, await response.text()
        return await response.json()


def settings_env(emulator: str, **overrides: str) -> dict[str, str]:
    """The variables `make run` gives the server, for the emulator's account."""
    env = {
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_NUMBERS": MAIN,
        "TWILIO_MESSAGING_SERVICE_SID": "",
        "TWILIO_API_BASE_URL": emulator,
        "PUBLIC_URL": PUBLIC_URL,
    }
    return {**env, **overrides}


@dataclass(frozen=True)
class Run:
    code: int
    lines: list[str]
    stderr: str


async def check(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], *argv: str
) -> Run:
    """The CLI in a thread (it is synchronous), while the emulator serves here."""
    capsys.readouterr()
    code = await asyncio.to_thread(check_credentials.main, list(argv), env)
    out, err = capsys.readouterr()
    return Run(code, out.splitlines(), err)


def number_lines(number: str, webhook: str = WEBHOOK) -> list[str]:
    masked = f"+{number[1:5]}***{number[-4:]}"
    return [
        f"ok    number {masked}: in this account",
        f"ok    number {masked}: SMS-capable",
        f'ok    number {masked}: "A message comes in" is {webhook} (HTTP POST)',
    ]


# --- the emulator's account routes, with twilio's own client --------------------------


@pytest_asyncio.fixture
async def twilio(emulator: str) -> AsyncIterator[Client]:
    client = twilio_client(emulator)
    yield client
    await client.http_client.close()  # type: ignore[attr-defined]


def twilio_client(base_url: str, token: str = TOKEN, **kwargs: Any) -> Client:
    client = Client(SID, token, http_client=AsyncTwilioHttpClient(timeout=10), **kwargs)
    client.api.base_url = base_url
    client.messaging.base_url = base_url
    return client


async def rest_error(coro: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        await coro
    return caught.value


async def test_the_account_and_its_numbers_read_as_twilios(twilio: Client) -> None:
    account = await twilio.api.v2010.accounts(SID).fetch_async()
    assert (account.sid, account.status, account.type) == (SID, "active", "Full")
    numbers = await twilio.incoming_phone_numbers.list_async()
    assert [n.phone_number for n in numbers] == [MAIN, SECOND]
    main = numbers[0]
    assert main.sid.startswith("PN") and len(main.sid) == 34
    assert main.capabilities == {"fax": False, "mms": True, "sms": True, "voice": True}
    assert (main.sms_url, main.sms_method, main.friendly_name) == (
        WEBHOOK,
        "POST",
        "(501) 712-2661",
    )
    fetched = await twilio.incoming_phone_numbers(main.sid).fetch_async()
    assert fetched.phone_number == MAIN


@pytest.mark.parametrize(
    ("pattern", "found"),
    [(MAIN, [MAIN]), ("2662", [SECOND]), ("+1501712266*", [MAIN, SECOND]), ("99", [])],
)
async def test_the_phone_number_filter_takes_parts_and_wildcards(
    twilio: Client, pattern: str, found: list[str]
) -> None:
    numbers = await twilio.incoming_phone_numbers.list_async(phone_number=pattern)
    assert [n.phone_number for n in numbers] == found


async def test_unknown_sids_and_other_accounts_are_404(twilio: Client) -> None:
    other = "AC" + "0" * 32
    for coro in (
        twilio.api.v2010.accounts(other).fetch_async(),
        twilio.incoming_phone_numbers("PN" + "0" * 32).fetch_async(),
        twilio.messaging.v1.services("MG" + "0" * 32).fetch_async(),
    ):
        error = await rest_error(coro)
        assert (error.status, error.code) == (404, 20404)


async def test_a_wrong_token_is_401_on_both_domains(emulator: str) -> None:
    client = twilio_client(emulator, token="not-the-token")  # noqa: S106
    for coro in (
        client.api.v2010.accounts(SID).fetch_async(),
        client.messaging.v1.services(SERVICE).fetch_async(),
    ):
        error = await rest_error(coro)
        assert (error.status, error.code) == (401, 20003)
    await client.http_client.close()  # type: ignore[attr-defined]


async def test_a_messaging_service_and_its_sender_pool(twilio: Client) -> None:
    service = await twilio.messaging.v1.services(SERVICE).fetch_async()
    assert service.inbound_request_url == WEBHOOK
    assert service.use_inbound_webhook_on_number is False
    pool = await twilio.messaging.v1.services(SERVICE).phone_numbers.list_async()
    assert [(p.phone_number, p.capabilities) for p in pool] == [
        (MAIN, ["SMS", "MMS", "Voice"]),
        (SECOND, ["SMS", "MMS", "Voice"]),
    ]
    assert pool[0].sid == (await twilio.incoming_phone_numbers.list_async())[0].sid


async def test_control_routes_change_numbers_and_refuse_bad_values(
    emulator: str, http: aiohttp.ClientSession, twilio: Client
) -> None:
    numbers = f"{emulator}/_emulator/numbers"
    changed = await control(http, numbers, {"phone_number": MAIN, "sms_url": None})
    assert changed["sms_url"] is None
    (main,) = await twilio.incoming_phone_numbers.list_async(phone_number=MAIN)
    assert main.sms_url == ""  # Twilio shows no webhook as an empty string
    for bad in (
        {"phone_number": "5017122661"},
        {"phone_number": MAIN, "sms": "no"},
        {"phone_number": MAIN, "sms_url": "ftp://x"},
        {"phone_number": MAIN, "colour": "red"},
    ):
        await control(http, numbers, bad, status=400)
    services = f"{emulator}/_emulator/services"
    await control(http, services, {"sid": SERVICE, "numbers": [NOT_OURS]}, status=400)


def test_the_messaging_domain_follows_the_api_base_url() -> None:
    assert (
        messaging_base_url("https://api.twilio.com") == "https://messaging.twilio.com"
    )
    assert (
        messaging_base_url("https://api.dublin.ie1.twilio.com")
        == "https://messaging.dublin.ie1.twilio.com"
    )
    assert messaging_base_url("http://127.0.0.1:8099/") == "http://127.0.0.1:8099"


# --- the CLI: numbers -----------------------------------------------------------------


async def test_all_good_is_exit_0_with_a_line_per_check(
    emulator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = await check(capsys, settings_env(emulator, TWILIO_NUMBERS=f"{MAIN},{SECOND}"))
    assert run.code == 0
    assert run.lines == [
        ACCOUNT_LINE,
        *number_lines(MAIN),
        *number_lines(SECOND),
        "all 7 checks passed",
    ]


async def test_a_number_the_account_does_not_own(
    emulator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = await check(
        capsys, settings_env(emulator, TWILIO_NUMBERS=f"{MAIN}, {NOT_OURS}")
    )
    assert run.code == 1
    assert run.lines == [
        ACCOUNT_LINE,
        *number_lines(MAIN),
        "FAIL  number +1501***0123: not in this account",
        "1 of 5 checks failed",
    ]


async def test_a_webhook_pointing_elsewhere(
    emulator: str, http: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]
) -> None:
    old = "https://old.example.com/sms"
    await control(
        http, f"{emulator}/_emulator/numbers", {"phone_number": MAIN, "sms_url": old}
    )
    run = await check(capsys, settings_env(emulator))
    assert run.code == 1
    assert run.lines[-2:] == [
        f'FAIL  number +1501***2661: "A message comes in" is {old}, expected {WEBHOOK}',
        "1 of 4 checks failed",
    ]


async def test_no_webhook_and_a_get_webhook_fail(
    emulator: str, http: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]
) -> None:
    numbers = f"{emulator}/_emulator/numbers"
    await control(http, numbers, {"phone_number": MAIN, "sms_url": None})
    await control(http, numbers, {"phone_number": SECOND, "sms_method": "GET"})
    run = await check(capsys, settings_env(emulator, TWILIO_NUMBERS=f"{MAIN},{SECOND}"))
    assert run.code == 1
    assert [line for line in run.lines if line.startswith("FAIL")] == [
        f'FAIL  number +1501***2661: "A message comes in" has no webhook, expected {WEBHOOK}',
        'FAIL  number +1501***2662: "A message comes in" uses HTTP GET, expected HTTP POST',
    ]


async def test_a_number_that_cannot_do_sms(
    emulator: str, http: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]
) -> None:
    await control(
        http, f"{emulator}/_emulator/numbers", {"phone_number": MAIN, "sms": False}
    )
    run = await check(capsys, settings_env(emulator))
    assert run.code == 1
    assert "FAIL  number +1501***2661: not SMS-capable" in run.lines


async def test_sms_incapable_numbers_can_be_configured_at_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = EmulatorConfig(
        webhook_url=None, numbers=(MAIN,), sms_incapable=frozenset({MAIN})
    )
    async with running_emulator(config) as emulator:
        run = await check(capsys, settings_env(emulator))
    assert run.code == 1
    assert run.lines == [
        ACCOUNT_LINE,
        "ok    number +1501***2661: in this account",
        "FAIL  number +1501***2661: not SMS-capable",
        f'FAIL  number +1501***2661: "A message comes in" has no webhook, expected {WEBHOOK}',
        "2 of 4 checks failed",
    ]


# --- the CLI: credentials and reachability -------------------------------------------


async def test_a_wrong_token_says_so_and_prints_no_token(
    emulator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "f" * 32
    run = await check(capsys, settings_env(emulator, TWILIO_AUTH_TOKEN=wrong))
    assert run.code == 1
    assert run.lines == [
        "FAIL  account AC…e1e1: TWILIO_AUTH_TOKEN is wrong for this account (Twilio 20003)",
        "1 of 1 checks failed",
    ]
    assert wrong not in "\n".join(run.lines) + run.stderr


async def test_an_unreachable_api_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    closed = "http://127.0.0.1:9"  # discard port: nothing listens on loopback
    run = await check(capsys, settings_env(closed))
    assert run.code == 1
    assert run.lines == [
        f"FAIL  Twilio API: cannot reach {closed}: Connection refused",
        "1 of 1 checks failed",
    ]
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(("status", "answer"), [(404, "HTTP 404"), (200, "a page")])
async def test_a_base_url_that_is_not_twilio(
    capsys: pytest.CaptureFixture[str], status: int, answer: str
) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(status=status, text="<html>hello</html>")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        run = await check(capsys, settings_env(base))
    finally:
        await runner.cleanup()
    assert run.code == 1
    assert run.lines == [
        f"FAIL  Twilio API: {base} answered {answer}, not as Twilio's API does: "
        "is TWILIO_API_BASE_URL right?",
        "1 of 1 checks failed",
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"TWILIO_ACCOUNT_SID": ""}, "TWILIO_ACCOUNT_SID is required"),
        ({"TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID: expected AC + 32 hex"),
        ({"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN is required"),
        ({"PUBLIC_URL": ""}, "PUBLIC_URL is required"),
        ({"TWILIO_NUMBERS": "5017122661"}, "TWILIO_NUMBERS: '5017122661' is not"),
        (
            {"TWILIO_NUMBERS": ""},
            "set TWILIO_NUMBERS (E.164, comma separated) or "
            "TWILIO_MESSAGING_SERVICE_SID",
        ),
    ],
)
async def test_missing_or_malformed_settings_are_exit_2_naming_the_variable(
    capsys: pytest.CaptureFixture[str], overrides: dict[str, str], message: str
) -> None:
    run = await check(capsys, settings_env("http://127.0.0.1:9", **overrides))
    assert run.code == 2
    assert run.lines == []
    assert run.stderr.startswith(f"check-credentials: {message}")


# --- the CLI: a Messaging Service ----------------------------------------------------


async def test_a_good_messaging_service(
    emulator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = settings_env(
        emulator, TWILIO_NUMBERS="", TWILIO_MESSAGING_SERVICE_SID=SERVICE
    )
    run = await check(capsys, env)
    assert run.code == 0
    assert run.lines == [
        ACCOUNT_LINE,
        'ok    messaging service MG…abab: exists ("Emulated Messaging Service")',
        "ok    messaging service MG…abab: has numbers +1501***2661, +1501***2662",
        f"ok    messaging service MG…abab: incoming texts go to {WEBHOOK} (HTTP POST)",
        "ok    number +1501***2661: in this account",
        "ok    number +1501***2661: SMS-capable",
        "ok    number +1501***2661: incoming texts follow messaging service MG…abab",
        "ok    number +1501***2662: in this account",
        "ok    number +1501***2662: SMS-capable",
        "ok    number +1501***2662: incoming texts follow messaging service MG…abab",
        "all 10 checks passed",
    ]


async def test_a_messaging_service_sending_texts_elsewhere(
    emulator: str, http: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]
) -> None:
    old = "https://old.example.com/sms"
    await control(
        http,
        f"{emulator}/_emulator/services",
        {"sid": SERVICE, "inbound_request_url": old, "numbers": [MAIN]},
    )
    env = settings_env(
        emulator,
        TWILIO_NUMBERS=f"{MAIN},{SECOND}",
        TWILIO_MESSAGING_SERVICE_SID=SERVICE,
    )
    run = await check(capsys, env)
    assert run.code == 1
    assert run.lines == [
        ACCOUNT_LINE,
        'ok    messaging service MG…abab: exists ("Emulated Messaging Service")',
        "ok    messaging service MG…abab: has number +1501***2661",
        "FAIL  messaging service MG…abab: does not have number +1501***2662",
        f"FAIL  messaging service MG…abab: incoming texts go to {old}, expected {WEBHOOK}",
        "ok    number +1501***2661: in this account",
        "ok    number +1501***2661: SMS-capable",
        "ok    number +1501***2661: incoming texts follow messaging service MG…abab",
        # Not in the service: its own webhook decides, so it is checked.
        *number_lines(SECOND),
        "2 of 11 checks failed",
    ]


async def test_a_service_deferring_to_the_numbers_checks_their_webhooks(
    emulator: str, http: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]
) -> None:
    old = "https://old.example.com/sms"
    await control(
        http,
        f"{emulator}/_emulator/services",
        {
            "sid": SERVICE,
            "inbound_request_url": None,
            "use_inbound_webhook_on_number": True,
        },
    )
    await control(
        http, f"{emulator}/_emulator/numbers", {"phone_number": SECOND, "sms_url": old}
    )
    env = settings_env(
        emulator, TWILIO_NUMBERS="", TWILIO_MESSAGING_SERVICE_SID=SERVICE
    )
    run = await check(capsys, env)
    assert run.code == 1
    assert run.lines[3] == (
        "ok    messaging service MG…abab: incoming texts go to each number's own "
        '"A message comes in"'
    )
    assert run.lines[-2:] == [
        f'FAIL  number +1501***2662: "A message comes in" is {old}, expected {WEBHOOK}',
        "1 of 10 checks failed",
    ]


async def test_a_messaging_service_not_in_the_account(
    emulator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    other = "MG" + "cd" * 16
    env = settings_env(emulator, TWILIO_MESSAGING_SERVICE_SID=other)
    run = await check(capsys, env)
    assert run.code == 1
    assert run.lines[:2] == [
        ACCOUNT_LINE,
        "FAIL  messaging service MG…cdcd: not in this account",
    ]
    assert run.lines[2:] == [*number_lines(MAIN), "1 of 5 checks failed"]


# --- the command the Makefile runs ---------------------------------------------------


async def test_python_dash_m_as_make_runs_it(emulator: str) -> None:
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "PUBLIC_"))
    }
    env = {**inherited, **settings_env(emulator)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tools.check_credentials",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert out.decode().splitlines() == [
        ACCOUNT_LINE,
        *number_lines(MAIN),
        "all 4 checks passed",
    ]
    assert TOKEN not in out.decode() + err.decode()
