"""What the emulator sends out: signed webhooks and the status-callback sequence."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass
from urllib.parse import urldefrag

import aiohttp
from twilio.request_validator import RequestValidator

from tools.emulator.resources import (
    StoredMessage,
    new_sid,
    status_callback_form,
    utc_now,
)
from tools.emulator.state import EmulatorState

logger = logging.getLogger(__name__)

UNDELIVERED_CODE = 30003
UNDELIVERED_MESSAGE = "Unreachable destination handset"


@dataclass(frozen=True)
class Delivery:
    """One POST the emulator made; `status` is None when no HTTP answer came back."""

    status: int | None
    response_body: str
    elapsed_ms: float
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def sign(auth_token: str, url: str, form: dict[str, str]) -> str:
    """X-Twilio-Signature with twilio-python's own code, never a re-implementation."""
    return RequestValidator(auth_token).compute_signature(url, form)


async def post_signed(
    session: aiohttp.ClientSession,
    url: str,
    form: dict[str, str],
    *,
    auth_token: str,
    signing_url: str | None = None,
    timeout_s: float = 15.0,
) -> Delivery:
    """POST a form as Twilio does: signed over the URL (without its `#…` connection
    overrides, which Twilio strips too), 10 s to connect and `timeout_s` in all."""
    target, _ = urldefrag(url)
    signed_over, _ = urldefrag(signing_url or url)
    headers = {
        "X-Twilio-Signature": sign(auth_token, signed_over, form),
        "User-Agent": "TwilioProxy/1.1",
        "Accept": "*/*",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(10.0, timeout_s))
    started = time.perf_counter()
    try:
        async with session.post(
            target, data=form, headers=headers, timeout=timeout, allow_redirects=False
        ) as response:
            text = await response.text()
            status: int | None = response.status
            error = None
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        status, text, error = None, "", f"{type(exc).__name__}: {exc}"
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    return Delivery(status, text, elapsed_ms, error)


def store_message(
    state: EmulatorState,
    *,
    to: str,
    from_: str | None,
    messaging_service_sid: str | None,
    body: str,
    media_urls: tuple[str, ...] = (),
    status_callback: str | None = None,
) -> StoredMessage:
    """Record an accepted outbound message and start its status lifecycle."""
    now = utc_now()
    msg = StoredMessage(
        index=state.log.next_index(),
        sid=new_sid("MM" if media_urls else "SM"),
        account_sid=state.config.account_sid,
        to=to,
        from_=from_,
        messaging_service_sid=messaging_service_sid,
        body=body,
        media_urls=media_urls,
        status="accepted" if messaging_service_sid else "queued",
        status_callback=status_callback,
        date_created=now,
        date_updated=now,
    )
    state.log.add(msg)
    state.spawn(run_lifecycle(state, msg.sid), name=f"emulator-lifecycle-{msg.sid}")
    return msg


def _advance(
    state: EmulatorState, msg: StoredMessage, status: str
) -> StoredMessage | None:
    """Move the stored message to `status`; None when it was cleared meanwhile."""
    now = utc_now()
    changes: dict[str, object] = {"status": status, "date_updated": now}
    if msg.from_ is None:  # Messaging Service: the pool picks a sender when queuing.
        sticky = state.last_texted.get(msg.to, state.config.service_number)
        changes["from_"] = sticky
    if status == "sent":
        changes["date_sent"] = now
    if status == "undelivered":
        changes["error_code"] = UNDELIVERED_CODE
        changes["error_message"] = UNDELIVERED_MESSAGE
    return state.log.update(msg.sid, **changes)


async def run_lifecycle(state: EmulatorState, sid: str) -> None:
    """queued -> sent -> delivered (or undelivered + 30003), one step per status delay,
    each posted in order to the message's StatusCallback when it has one."""
    msg = state.log.get(sid)
    if msg is None:
        return
    final = "undelivered" if msg.to in state.settings.undeliverable else "delivered"
    for status in ("queued", "sent", final):
        await asyncio.sleep(state.settings.status_delay_ms / 1000)
        updated = _advance(state, msg, status)
        if updated is None:
            return
        msg = updated
        if msg.status_callback:
            await _post_status(state, msg)


async def _post_status(state: EmulatorState, msg: StoredMessage) -> None:
    """Failures are logged: a broken receiver must never stop the emulator."""
    url = msg.status_callback or ""
    form = status_callback_form(msg, utc_now())
    delivery = await post_signed(
        state.session,
        url,
        form,
        auth_token=state.config.auth_token,
        timeout_s=state.config.callback_timeout_s,
    )
    if delivery.error or (delivery.status or 0) >= 400:
        logger.warning(
            "status callback %s for %s to %s failed: %s",
            msg.status,
            msg.sid,
            url,
            delivery.error or delivery.status,
        )
