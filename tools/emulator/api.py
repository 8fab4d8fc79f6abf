"""The Messages REST endpoint, answering as api.twilio.com does.

Order of checks: credentials (401/20003), then the path's AccountSid (404/20404: Twilio
does not tell a caller whether another account exists), then field validation (400s),
then the magic test numbers and opt-outs, then a refusal window (`refuse_sends_ms`:
every send is a 20429 until it ends), then the injected failure mix, then 201.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping
from typing import Any

from aiohttp import BasicAuth, web
from multidict import MultiDictProxy

from tools.emulator.config import ACCOUNT_SID_RE, SERVICE_SID_RE
from tools.emulator.delivery import store_message
from tools.emulator.resources import (
    StoredMessage,
    is_e164,
    is_valid_sender,
    message_resource,
    new_sid,
    twilio_error,
)
from tools.emulator.state import STATE, EmulatorState

BASE = "/2010-04-01/Accounts/{account_sid}"
MAX_BODY = 1600
MAX_MEDIA = 10

# Twilio's test-credential magic numbers (To side, then From side).
MAGIC_TO: Mapping[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (
        21612,
        "The 'To' phone number: {to}, is not currently reachable using the 'From' "
        "phone number: {from_} via SMS.",
    ),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by "
        "the 'To' number: {to}.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "The 'To' number {to} is not a valid mobile number."),
}
MAGIC_FROM: Mapping[str, tuple[int, str]] = {
    "+15005550001": (
        21212,
        "The 'From' number {from_} is not a valid phone number, shortcode, or "
        "alphanumeric sender ID.",
    ),
    "+15005550007": (
        21606,
        "The 'From' phone number provided ({from_}) is not a valid message-capable "
        "Twilio phone number for this destination/account.",
    ),
    "+15005550008": (
        21611,
        "This 'From' number has exceeded the maximum number of queued messages.",
    ),
}


def error_response(
    code: int, message: str, status: int, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(
        twilio_error(code, message, status), status=status, headers=headers
    )


def bad_request(code: int, message: str) -> web.Response:
    return error_response(code, message, 400)


def not_found(path: str) -> web.Response:
    return error_response(
        20404, f"The requested resource {path} was not found", status=404
    )


def authenticate(request: web.Request, state: EmulatorState) -> web.Response | None:
    """Basic auth with AccountSid:AuthToken, compared in constant time; on a path
    with an AccountSid (not the v1 APIs'), it must be the caller's own."""
    user = password = ""
    header = request.headers.get("Authorization", "")
    if header:
        try:
            credentials = BasicAuth.decode(header)
            user, password = credentials.login, credentials.password
        except ValueError:
            pass
    expected = state.config
    if not (
        hmac.compare_digest(user.encode(), expected.account_sid.encode())
        & hmac.compare_digest(password.encode(), expected.auth_token.encode())
    ):
        return error_response(
            20003,
            "Authenticate",
            401,
            headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
        )
    path_sid = request.match_info.get("account_sid")
    if path_sid is None:
        return None
    if not ACCOUNT_SID_RE.match(path_sid) or path_sid != user:
        return not_found(request.path)
    return None


def validate(form: MultiDictProxy[Any], state: EmulatorState) -> web.Response | None:
    """Twilio's 400s for a create, in the order its API reports them."""
    to = form.get("To", "").strip()
    from_ = form.get("From", "").strip()
    service = form.get("MessagingServiceSid", "").strip()
    body = form.get("Body", "")
    media = form.getall("MediaUrl", [])
    callback = form.get("StatusCallback", "")
    if not to:
        return bad_request(21604, "A 'To' phone number is required.")
    if not is_e164(to):
        return bad_request(21211, f"The 'To' number {to} is not a valid phone number.")
    if not from_ and not service:
        return bad_request(21603, "A 'From' phone number is required.")
    if from_ and not is_valid_sender(from_):
        code, text = MAGIC_FROM["+15005550001"]
        return bad_request(code, text.format(from_=from_))
    if service and not SERVICE_SID_RE.match(service):
        return bad_request(21701, f"The Messaging Service Sid {service} is invalid.")
    if not body and not media:
        return bad_request(21602, "Message body is required.")
    if len(body) > MAX_BODY:
        return bad_request(
            21617, "The concatenated message body exceeds the 1600 character limit."
        )
    if len(media) > MAX_MEDIA:
        return bad_request(21623, "Number of media files exceeds allowed limit.")
    if callback and not callback.startswith(("http://", "https://")):
        return bad_request(21609, "Invalid StatusCallback url")
    for magic, number in ((MAGIC_TO, to), (MAGIC_FROM, from_)):
        if number in magic:
            code, text = magic[number]
            return bad_request(code, text.format(to=to, from_=from_))
    if state.settings.opt_out_tracking and _opted_out(state, to, from_):
        return bad_request(21610, "Attempt to send to unsubscribed recipient")
    return None


def _opted_out(state: EmulatorState, to: str, from_: str) -> bool:
    """A STOP blocks that sender; a Messaging Service send is blocked by any STOP."""
    if from_:
        return (to, from_) in state.opt_outs
    return any(customer == to for customer, _ in state.opt_outs)


def _store(state: EmulatorState, form: MultiDictProxy[Any]) -> StoredMessage:
    return store_message(
        state,
        to=form["To"].strip(),
        from_=form.get("From", "").strip() or None,
        messaging_service_sid=form.get("MessagingServiceSid", "").strip() or None,
        body=form.get("Body", ""),
        media_urls=tuple(form.getall("MediaUrl", [])),
        status_callback=form.get("StatusCallback") or None,
    )


async def latency(state: EmulatorState) -> None:
    """The configured delay before each REST answer."""
    if state.settings.latency_ms:
        await asyncio.sleep(state.settings.latency_ms / 1000)


async def create_message(request: web.Request) -> web.Response:
    state = request.app[STATE]
    await latency(state)
    if (denied := authenticate(request, state)) is not None:
        return denied
    form = await request.post()
    if (invalid := validate(form, state)) is not None:
        return invalid
    if state.settings.refusing_ms():
        return error_response(20429, "Too Many Requests", 429)
    outcome = state.next_outcome()
    if outcome == "20429":
        return error_response(20429, "Too Many Requests", 429)
    if outcome == "21610":
        return bad_request(21610, "Attempt to send to unsubscribed recipient")
    if outcome == "500":
        if state.settings.ambiguous_500_sends:
            _store(state, form)
        return error_response(20500, "Internal Server Error", 500)
    msg = _store(state, form)
    return web.json_response(
        message_resource(msg), status=201, headers=request_id_header()
    )


async def fetch_message(request: web.Request) -> web.Response:
    state = request.app[STATE]
    await latency(state)
    if (denied := authenticate(request, state)) is not None:
        return denied
    msg = state.log.get(request.match_info["message_sid"])
    if msg is None:
        return not_found(request.path)
    return web.json_response(message_resource(msg), headers=request_id_header())


async def list_messages(request: web.Request) -> web.Response:
    """`GET …/Messages.json`: newest first, filtered by To and From, one page.

    Enough of Twilio's list for a sender to ask "did this text reach Twilio?"
    after a crash; the date filters and paging beyond the first page are not
    emulated.
    """
    state = request.app[STATE]
    await latency(state)
    if (denied := authenticate(request, state)) is not None:
        return denied
    to = request.query.get("To")
    from_ = request.query.get("From")
    try:
        size = max(1, min(1000, int(request.query.get("PageSize", "50"))))
    except ValueError:
        return bad_request(20001, "PageSize must be a number")
    found = [
        message_resource(msg)
        for msg in state.log.newest_first()
        if (to is None or msg.to == to) and (from_ is None or msg.from_ == from_)
    ][:size]
    uri = request.path_qs
    return web.json_response(
        {
            "messages": found,
            "end": max(0, len(found) - 1),
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        },
        headers=request_id_header(),
    )


def request_id_header() -> dict[str, Any]:
    return {"Twilio-Request-Id": new_sid("RQ")}


def add_routes(app: web.Application) -> None:
    app.router.add_post(f"{BASE}/Messages.json", create_message)
    app.router.add_get(f"{BASE}/Messages/{{message_sid}}.json", fetch_message)
    app.router.add_get(f"{BASE}/Messages.json", list_messages)
