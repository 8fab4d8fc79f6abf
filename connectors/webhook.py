"""SmsWebhook: Twilio's routes alone, without Rasa, so they can run in any process.

POST /webhook: signature (403) -> fields (400) -> one atomic accept in Redis
(dedupe, STOP/START/HELP, queue) -> 200 with an empty TwiML <Response/>. POST
/status files delivery callbacks. GET / is the health check. Redis being down is a
503 (Twilio then tries the fallback URL), never a 500 and never an acknowledgement
of a text that was not stored. The Rasa server mounts these routes through
TwilioSmsInput; `connectors.ingress` serves them in a process of their own, so the
answer Twilio waits for never queues behind a turn's CPU work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sanic import Blueprint, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.twiml.messaging_response import MessagingResponse

import redisio
from analytics import metrics
from analytics.counters import Counters
from analytics.settings import AnalyticsSettings
from connectors import keywords, log_privacy, signature, status, suppression
from connectors.inbound import InboundSms, InvalidInbound, parse_inbound
from connectors.inbox import Inbox, Outcome
from connectors.settings import SmsSettings

logger = logging.getLogger(__name__)

EMPTY_TWIML = str(MessagingResponse())
FORM_TYPE = "application/x-www-form-urlencoded"
#: Largest body the SMS routes read. Twilio's biggest real form (a text with ten
#: media URLs) is a few KB; anything larger is refused before it is buffered or its
#: signature checked (Sanic's own limit is 100 MB).
MAX_BODY_BYTES = 64 * 1024
HEALTH_TIMEOUT = 1.0  # seconds the health route waits for Redis


class BadForm(ValueError):
    """A body that is not the form Twilio sends."""


def read_form(request: Request) -> dict[str, list[str]]:
    """Every field, empty ones too: Twilio signs an empty Body, Sanic drops it."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
    if content_type.lower() != FORM_TYPE:
        raise BadForm(f"expected {FORM_TYPE}, got {content_type or 'no content type'}")
    try:
        pairs = parse_qsl(
            request.body.decode("utf-8"), keep_blank_values=True, max_num_fields=500
        )
    except (UnicodeDecodeError, ValueError) as err:
        raise BadForm(f"unreadable form body: {type(err).__name__}") from None
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bool:
    """Read a streamed body up to `limit` bytes; False if it is larger.

    Content-Length is checked before a byte is read; a chunked body is cut off
    at the limit. Sanic then drains no more than `limit` and closes the connection,
    so the answer says "Connection: close": otherwise a pooling client (the
    ingress) sends its next request down a socket being closed and gets a reset.
    """
    stream = request.stream
    if stream is None:
        return True
    stream.request_max_size = limit
    try:
        fits = int(request.headers.get("content-length") or 0) <= limit
    except ValueError:
        fits = False
    if fits:
        try:
            await request.receive_body()
        except PayloadTooLarge:
            fits = False
    if not fits:
        stream.keep_alive = False
    return fits


def _xml(status: int = 200) -> HTTPResponse:
    return response.text(EMPTY_TWIML, status=status, content_type="text/xml")


def _error(status: int, reason: str) -> HTTPResponse:
    return response.text(reason + "\n", status=status)


class SmsWebhook:
    """The SMS routes and the one Redis client they need; `open` before serving."""

    def __init__(
        self, settings: SmsSettings, analytics: AnalyticsSettings | None = None
    ) -> None:
        log_privacy.install()
        log_privacy.register_secret(settings.auth_token)
        log_privacy.register_secret(urlsplit(settings.redis_url).password)
        self.settings = settings
        self.keywords = settings.keywords
        self.analytics = analytics or AnalyticsSettings.from_env()
        self.redis: Redis | None = None
        self.inbox: Inbox | None = None
        self.counters: Counters | None = None
        #: More for the health route's body (the ingress: whether Rasa is up).
        self.health_details: Callable[[], Awaitable[dict[str, Any]]] | None = None
        if not settings.validate_signature:
            logger.warning(
                "twilio_sms: validate_signature is OFF: anyone who can reach the "
                "webhook can text as any number. Use this only on a closed network."
            )

    def open(self) -> Redis:
        """The process's client for this event loop (redisio owns it)."""
        self.redis = redisio.client(self.settings.redis)
        self.inbox = Inbox(self.redis, self.settings.dedupe_hours * 3600)
        self.counters = Counters(
            self.redis, self.analytics.time_zone, self.analytics.retention_days
        )
        return self.redis

    def routes(self, prefix: str = "", bp: Blueprint | None = None) -> Blueprint:
        """Mounted under /webhooks/twilio_sms by whoever serves them, or added to
        `bp` with that `prefix` (the Rasa server's blueprint, which has more)."""
        bp = bp or Blueprint("twilio_sms_webhook", __name__)

        @bp.route(prefix + "/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return await self.health()

        # stream=True: the body is not read before the handler, which caps it.
        @bp.route(prefix + "/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            if not await read_body(request):
                return _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
            return await self.receive(request)

        @bp.route(prefix + "/fallback", methods=["POST"], stream=True)
        async def fallback(request: Request) -> HTTPResponse:
            if not await read_body(request):
                return _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
            return self.fallback(request)

        @bp.route(prefix + "/status", methods=["POST"], stream=True)
        async def delivery(request: Request) -> HTTPResponse:
            if not await read_body(request):
                return _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
            return await self.delivery(request)

        return bp

    def _signed_form(self, request: Request) -> dict[str, list[str]] | HTTPResponse:
        """The form of a request Twilio signed, or the 403/400 to answer instead."""
        if self.settings.validate_signature and not request.headers.get(
            "x-twilio-signature"
        ):
            metrics.SIGNATURE_REJECTIONS.inc()
            return _error(403, "missing X-Twilio-Signature")
        try:
            form = read_form(request)
        except BadForm as err:
            return _error(400, str(err))
        if not self._signed(request, form):
            metrics.SIGNATURE_REJECTIONS.inc()
            return _error(403, "invalid or missing X-Twilio-Signature")
        return form

    def _signed(self, request: Request, form: dict[str, list[str]]) -> bool:
        if not self.settings.validate_signature:
            return True
        url = signature.signed_url(
            self.settings.public_url,
            request.path,
            request.query_string,
            request.headers,
            self.settings.trust_forwarded_headers,
        )
        return signature.is_valid(
            self.settings.auth_token,
            url,
            form,
            request.headers.get("x-twilio-signature"),
        )

    async def health(self) -> HTTPResponse:
        """503 naming what is down, so a load balancer takes this replica out."""
        body: dict[str, Any] = {"enabled": self.settings.enabled}
        if self.health_details is not None:
            body.update(await self.health_details())
        if self.redis is None:
            return response.json({**body, "status": "starting"}, status=503)
        try:
            await asyncio.wait_for(self.redis.ping(), HEALTH_TIMEOUT)
        except (RedisError, OSError, asyncio.TimeoutError) as err:
            logger.warning("health: redis unavailable: %s", type(err).__name__)
            return response.json(
                {**body, "status": "unavailable", "down": ["redis"]}, status=503
            )
        return response.json({**body, "status": "ok"})

    async def receive(self, request: Request) -> HTTPResponse:
        started = time.perf_counter()
        form = self._signed_form(request)
        if isinstance(form, HTTPResponse):
            return form
        try:
            sms = parse_inbound({k: v[0] for k, v in form.items()})
        except InvalidInbound as err:
            return _error(400, str(err))
        if self.inbox is None:
            return _error(503, "starting up")
        word = self.keywords.keyword(sms.body)
        # After START, a customer whom a bare CANCEL opted out is told how to
        # cancel an appointment (if CANCEL is an opt-out word here at all).
        hint_after = (
            keywords.AMBIGUOUS_OPT_OUT
            if self.settings.enabled
            and keywords.AMBIGUOUS_OPT_OUT in self.settings.opt_out_words
            else ""
        )
        try:
            if not self.settings.enabled and not await self._opt_change(sms, word):
                return _xml()  # switched off: no turn, nothing sent, nothing kept
            outcome = await self.inbox.accept(sms, word, hint_after)
        except RedisError as err:
            logger.error("inbox unavailable, %s not stored: %s", sms.message_sid, err)
            return _error(503, "temporarily unavailable, not stored")
        if outcome is Outcome.OPTED_OUT:
            metrics.OPT_OUTS.inc()
        if outcome is not Outcome.DUPLICATE and self.counters is not None:
            await self.counters.add(
                sms.messaging_service_sid or sms.to_number,
                {
                    "inbound": 1,
                    "segments_in": max(1, sms.num_segments),
                    "opt_outs": int(outcome is Outcome.OPTED_OUT),
                },
                customer=sms.from_number,
            )
        elapsed = time.perf_counter() - started
        metrics.WEBHOOK_SECONDS.observe(elapsed)
        logger.debug(
            "%s from %s: %s in %.1f ms",
            sms.message_sid,
            sms.from_number,
            outcome.value,
            elapsed * 1000,
        )
        return _xml()

    def fallback(self, request: Request) -> HTTPResponse:
        """Twilio's fallback URL ("Primary handler fails"): the webhook answered an
        error or nothing (Redis down, the server stopping), so the customer gets
        `fallback_message` as the TwiML reply. Needs no Redis and stores nothing;
        STOP and HELP words get no reply (Twilio answers those itself)."""
        form = self._signed_form(request)
        if isinstance(form, HTTPResponse):
            return form
        body = (form.get("Body") or [""])[0]
        if not self.settings.enabled or self.keywords.keyword(body) in (
            keywords.Keyword.OPT_OUT,
            keywords.Keyword.HELP,
        ):
            return _xml()
        logger.warning("fallback: a text was answered with the fallback message")
        reply = MessagingResponse()
        reply.message(self.settings.fallback_message)
        return response.text(str(reply), content_type="text/xml")

    async def _opt_change(self, sms: InboundSms, word: keywords.Keyword | None) -> bool:
        """With `enabled: false`, only a change of who may be texted is kept: a STOP
        must never be lost, and START from a number that opted out opts it back in
        (from anyone else it is an answer, and no answer is given)."""
        assert self.redis is not None
        if word is keywords.Keyword.OPT_OUT:
            return True
        if word is keywords.Keyword.OPT_IN:
            pair = sms.messaging_service_sid or sms.to_number
            return await suppression.is_suppressed(self.redis, sms.from_number, pair)
        return False

    async def delivery(self, request: Request) -> HTTPResponse:
        form = self._signed_form(request)
        if isinstance(form, HTTPResponse):
            return form
        if self.redis is None:
            return _error(503, "starting up")
        try:
            await status.handle_callback(
                self.redis, {k: v[0] for k, v in form.items()}, self.counters
            )
        except status.InvalidStatus as err:
            return _error(400, str(err))
        except RedisError as err:
            logger.error("status callback not stored: %s", err)
            return _error(503, "temporarily unavailable, not stored")
        return response.empty(status=204)
