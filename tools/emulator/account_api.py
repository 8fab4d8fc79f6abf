"""The read-only account routes: the Account, its IncomingPhoneNumbers, and the v1
Messaging Services API (messaging.twilio.com), all on the emulator's one port.

They let a settings check (`tools.check_credentials`) run against the emulator with
twilio-python's own client: point `client.api.base_url` and
`client.messaging.base_url` at the emulator's base URL. Same order of checks as the
Messages endpoint: credentials (401/20003), then the path's AccountSid (404/20404),
then the resource (404/20404 for a SID the account does not have).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tools.emulator.api import (
    BASE,
    authenticate,
    bad_request,
    latency,
    not_found,
    request_id_header,
)
from tools.emulator.inventory import (
    account_resource,
    incoming_number_resource,
    service_number_resource,
    service_resource,
)
from tools.emulator.state import STATE, EmulatorState

SERVICE = "/v1/Services/{service_sid}"


async def _authorised(
    request: web.Request,
) -> tuple[EmulatorState, web.Response | None]:
    state = request.app[STATE]
    await latency(state)
    return state, authenticate(request, state)


def _ok(payload: Any) -> web.Response:
    return web.json_response(payload, headers=request_id_header())


def _page_size(request: web.Request) -> int | None:
    try:
        return max(1, min(1000, int(request.query.get("PageSize", "50"))))
    except ValueError:
        return None


def _messaging_base(request: web.Request) -> str:
    """The host the caller reached, standing in for https://messaging.twilio.com."""
    return f"{request.scheme}://{request.host}"


async def fetch_account(request: web.Request) -> web.Response:
    state, denied = await _authorised(request)
    if denied is not None:
        return denied
    inventory = state.inventory
    return _ok(
        account_resource(
            inventory.account_sid, state.config.auth_token, inventory.created
        )
    )


async def list_incoming_numbers(request: web.Request) -> web.Response:
    """`GET …/IncomingPhoneNumbers.json`, with the `PhoneNumber` and `FriendlyName`
    filters; one page (paging beyond it is not emulated)."""
    state, denied = await _authorised(request)
    if denied is not None:
        return denied
    size = _page_size(request)
    if size is None:
        return bad_request(20001, "PageSize must be a number")
    pattern = request.query.get("PhoneNumber")
    if pattern is not None and pattern.startswith(" "):  # an unencoded "+"
        pattern = "+" + pattern[1:]
    inventory = state.inventory
    found = [
        incoming_number_resource(inventory.account_sid, inventory.numbers[number])
        for number in inventory.matching(pattern, request.query.get("FriendlyName"))
    ][:size]
    uri = request.path_qs
    return _ok(
        {
            "end": max(0, len(found) - 1),
            "first_page_uri": uri,
            "incoming_phone_numbers": found,
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }
    )


async def fetch_incoming_number(request: web.Request) -> web.Response:
    state, denied = await _authorised(request)
    if denied is not None:
        return denied
    number = state.inventory.number_by_sid(request.match_info["number_sid"])
    if number is None:
        return not_found(request.path)
    return _ok(incoming_number_resource(state.inventory.account_sid, number))


async def fetch_service(request: web.Request) -> web.Response:
    state, denied = await _authorised(request)
    if denied is not None:
        return denied
    service = state.inventory.services.get(request.match_info["service_sid"])
    if service is None:
        return not_found(request.path)
    return _ok(
        service_resource(state.inventory.account_sid, service, _messaging_base(request))
    )


async def list_service_numbers(request: web.Request) -> web.Response:
    """`GET /v1/Services/{sid}/PhoneNumbers`: the sender pool, v1 paging (`meta`)."""
    state, denied = await _authorised(request)
    if denied is not None:
        return denied
    inventory = state.inventory
    service = inventory.services.get(request.match_info["service_sid"])
    if service is None:
        return not_found(request.path)
    size = _page_size(request)
    if size is None:
        return bad_request(20001, "PageSize must be a number")
    base = _messaging_base(request)
    found = [
        service_number_resource(
            inventory.account_sid, service.sid, inventory.numbers[number], base
        )
        for number in service.numbers
        if number in inventory.numbers
    ][:size]
    url = f"{base}{request.path}?PageSize={size}&Page=0"
    return _ok(
        {
            "meta": {
                "first_page_url": url,
                "key": "phone_numbers",
                "next_page_url": None,
                "page": 0,
                "page_size": size,
                "previous_page_url": None,
                "url": url,
            },
            "phone_numbers": found,
        }
    )


async def fetch_service_number(request: web.Request) -> web.Response:
    state, denied = await _authorised(request)
    if denied is not None:
        return denied
    inventory = state.inventory
    service = inventory.services.get(request.match_info["service_sid"])
    number = inventory.number_by_sid(request.match_info["number_sid"])
    if service is None or number is None or number.phone_number not in service.numbers:
        return not_found(request.path)
    return _ok(
        service_number_resource(
            inventory.account_sid, service.sid, number, _messaging_base(request)
        )
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{BASE}.json", fetch_account)
    app.router.add_get(f"{BASE}/IncomingPhoneNumbers.json", list_incoming_numbers)
    app.router.add_get(
        f"{BASE}/IncomingPhoneNumbers/{{number_sid}}.json", fetch_incoming_number
    )
    app.router.add_get(SERVICE, fetch_service)
    app.router.add_get(f"{SERVICE}/PhoneNumbers", list_service_numbers)
    app.router.add_get(f"{SERVICE}/PhoneNumbers/{{number_sid}}", fetch_service_number)
