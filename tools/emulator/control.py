"""`/_emulator/*`: what Twilio does on its own (inbound texts) and what tests need
(runtime knobs, the sent-message log, the account's numbers and services). Loopback
only, no auth."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import xml.etree.ElementTree as ET  # noqa: S405 - only for ParseError
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tools.emulator.config import (
    ConfigError,
    normalise_code,
    normalise_failures,
)
from tools.emulator.delivery import Delivery, post_signed, store_message
from tools.emulator.inventory import number_json, service_json
from tools.emulator.resources import (
    InboundMedia,
    inbound_form,
    log_entry,
    new_sid,
    twiml_messages,
)
from tools.emulator.state import STATE, EmulatorState

logger = logging.getLogger(__name__)

OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
MAX_REPEAT = 100


def json_error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except json.JSONDecodeError as exc:
        raise ConfigError(f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise ConfigError("body must be a JSON object")
    return payload


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def settings_json(state: EmulatorState) -> dict[str, Any]:
    s = state.settings
    return {
        "latency_ms": s.latency_ms,
        "failures": s.failures,
        "force": list(s.force),
        "status_delay_ms": s.status_delay_ms,
        "ambiguous_500_sends": s.ambiguous_500_sends,
        "undeliverable": sorted(s.undeliverable),
        "webhook_url": s.webhook_url,
        "signing_url": s.signing_url,
        "opt_out_tracking": s.opt_out_tracking,
        "opt_outs": sorted([list(pair) for pair in state.opt_outs]),
        "refuse_sends_ms": s.refusing_ms(),
    }


def apply_settings(state: EmulatorState, payload: dict[str, Any]) -> None:
    """Validate everything first, then change: a bad request changes nothing."""
    s, changes = state.settings, dict(payload)
    known = set(settings_json(state)) | {"seed"}
    if unknown := set(changes) - known:
        raise ConfigError(f"unknown settings {sorted(unknown)}")
    for key in ("latency_ms", "status_delay_ms", "refuse_sends_ms"):
        if key in changes and (not isinstance(changes[key], int) or changes[key] < 0):
            raise ConfigError(f"{key} must be an integer >= 0")
    for key in ("force", "undeliverable", "opt_outs"):
        if key in changes and not isinstance(changes[key], list):
            raise ConfigError(f"{key} must be a list")
    for key in ("webhook_url", "signing_url"):
        if changes.get(key) is not None and not isinstance(changes[key], str):
            raise ConfigError(f"{key} must be a string or null")
    failures = normalise_failures(changes.get("failures", s.failures))
    force = deque(normalise_code(code) for code in changes.get("force", s.force))
    opt_outs = {(str(a), str(b)) for a, b in changes.get("opt_outs", state.opt_outs)}
    s.failures, s.force, state.opt_outs = failures, force, opt_outs
    s.latency_ms = changes.get("latency_ms", s.latency_ms)
    s.status_delay_ms = changes.get("status_delay_ms", s.status_delay_ms)
    s.ambiguous_500_sends = bool(
        changes.get("ambiguous_500_sends", s.ambiguous_500_sends)
    )
    s.opt_out_tracking = bool(changes.get("opt_out_tracking", s.opt_out_tracking))
    s.undeliverable = set(changes.get("undeliverable", s.undeliverable))
    s.webhook_url = changes.get("webhook_url", s.webhook_url)
    s.signing_url = changes.get("signing_url", s.signing_url)
    if "refuse_sends_ms" in changes:
        s.refuse_until = time.monotonic() + changes["refuse_sends_ms"] / 1000
    if "seed" in changes:
        state.rng.seed(changes["seed"])


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(settings_json(request.app[STATE]))


async def post_config(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        apply_settings(state, await read_json(request))
    except (ConfigError, TypeError, ValueError) as exc:
        return json_error(str(exc))
    return web.json_response(settings_json(state))


@dataclass(frozen=True)
class InboundText:
    """A text a customer sends, as `POST /_emulator/inbound` describes it."""

    from_: str
    to: str
    body: str = ""
    media: tuple[InboundMedia, ...] = ()
    message_sid: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> InboundText:
        """Only types are checked: malformed numbers or bodies are allowed on purpose,
        so the webhook's own validation can be tested."""
        try:
            from_, to = payload["from"], payload["to"]
        except KeyError as exc:
            raise ConfigError(f"missing {exc.args[0]!r}") from exc
        body = payload.get("body", "")
        sid = payload.get("message_sid")
        if (
            not all(isinstance(v, str) for v in (from_, to, body))
            or not from_
            or not to
        ):
            raise ConfigError(
                "'from' and 'to' must be non-empty strings, 'body' a string"
            )
        if sid is not None and (not isinstance(sid, str) or not sid):
            raise ConfigError("'message_sid' must be a non-empty string")
        media = tuple(
            InboundMedia(str(item["url"]), str(item.get("content_type", "image/jpeg")))
            for item in payload.get("media") or []
        )
        extra = {str(k): str(v) for k, v in (payload.get("extra_fields") or {}).items()}
        return cls(from_, to, body, media, sid, extra)


def _track_opt_out(state: EmulatorState, text: InboundText) -> None:
    """Twilio blocks sends to a number that texted STOP to that sender, until START."""
    word = text.body.strip().upper()
    if word in OPT_OUT_WORDS:
        state.opt_outs.add((text.from_, text.to))
    elif word in OPT_IN_WORDS:
        state.opt_outs.discard((text.from_, text.to))


def _send_twiml_replies(state: EmulatorState, text: InboundText, d: Delivery) -> None:
    """A `<Message>` in the webhook's answer is sent by Twilio, so it is here too."""
    if d.status != 200:
        return
    try:
        bodies = twiml_messages(d.response_body)
    except ET.ParseError:
        logger.warning(
            "webhook answered 200 with malformed TwiML: %.200s", d.response_body
        )
        return
    for body in bodies:
        store_message(
            state, to=text.from_, from_=text.to, messaging_service_sid=None, body=body
        )


async def inbound(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        text = InboundText.from_json(await read_json(request))
        repeat = int(request.query.get("repeat", "1"))
    except (ConfigError, ValueError) as exc:
        return json_error(str(exc))
    if not 1 <= repeat <= MAX_REPEAT:
        return json_error(f"repeat must be within 1..{MAX_REPEAT}")
    concurrent = request.query.get("concurrent", "0").lower() in ("1", "true", "yes")
    url = state.settings.webhook_url
    if not url:
        return json_error("no webhook_url configured", 409)
    sid = text.message_sid or new_sid("MM" if text.media else "SM")
    form = inbound_form(
        message_sid=sid,
        account_sid=state.config.account_sid,
        messaging_service_sid=state.config.messaging_service_sid,
        from_=text.from_,
        to=text.to,
        body=text.body,
        media=text.media,
        extra=text.extra,
    )
    state.last_texted[text.from_] = text.to
    if state.settings.opt_out_tracking:
        _track_opt_out(state, text)

    async def deliver() -> Delivery:
        delivery = await post_signed(
            state.session,
            url,
            form,
            auth_token=state.config.auth_token,
            signing_url=state.settings.signing_url,
            timeout_s=state.config.webhook_timeout_s,
        )
        _send_twiml_replies(state, text, delivery)
        return delivery

    if concurrent:
        deliveries = list(await asyncio.gather(*(deliver() for _ in range(repeat))))
    else:
        deliveries = [await deliver() for _ in range(repeat)]
    first = deliveries[0]
    return web.json_response(
        {
            "message_sid": sid,
            **first.as_json(),
            "deliveries": [d.as_json() for d in deliveries],
        }
    )


async def list_messages(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        after = int(request.query.get("after", "0"))
        wait_s = float(request.query.get("wait", "0"))
    except ValueError:
        return json_error("'after' must be an integer and 'wait' a number")
    to = request.query.get("to") or None
    if to is not None and to.startswith(" "):  # an unencoded "+" arrives as a space
        to = "+" + to[1:]
    found = await state.log.wait_for(to, after, wait_s, state.closing)
    return web.json_response(
        {
            "messages": [log_entry(msg) for msg in found],
            "next": max(after, state.log.last_index),
        }
    )


async def clear_messages(request: web.Request) -> web.Response:
    request.app[STATE].log.clear()
    return web.json_response({"ok": True})


async def list_numbers(request: web.Request) -> web.Response:
    numbers = request.app[STATE].inventory.numbers.values()
    return web.json_response({"numbers": [number_json(n) for n in numbers]})


async def post_number(request: web.Request) -> web.Response:
    """Change a number the account owns (its webhook, capabilities), or buy one."""
    inventory = request.app[STATE].inventory
    try:
        number = inventory.update_number(await read_json(request))
    except ConfigError as exc:
        return json_error(str(exc))
    return web.json_response(number_json(number))


async def list_services(request: web.Request) -> web.Response:
    services = request.app[STATE].inventory.services.values()
    return web.json_response({"services": [service_json(s) for s in services]})


async def post_service(request: web.Request) -> web.Response:
    """Change a Messaging Service (inbound URL, sender pool), or create one."""
    inventory = request.app[STATE].inventory
    try:
        service = inventory.update_service(await read_json(request))
    except ConfigError as exc:
        return json_error(str(exc))
    return web.json_response(service_json(service))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_emulator/health", health)
    app.router.add_get("/_emulator/config", get_config)
    app.router.add_post("/_emulator/config", post_config)
    app.router.add_post("/_emulator/inbound", inbound)
    app.router.add_get("/_emulator/messages", list_messages)
    app.router.add_delete("/_emulator/messages", clear_messages)
    app.router.add_get("/_emulator/numbers", list_numbers)
    app.router.add_post("/_emulator/numbers", post_number)
    app.router.add_get("/_emulator/services", list_services)
    app.router.add_post("/_emulator/services", post_service)
