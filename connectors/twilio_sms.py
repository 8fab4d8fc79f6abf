"""TwilioSmsInput: the Rasa input channel Twilio's webhook points at. It only wires.

POST /webhooks/twilio_sms/webhook: signature (403) -> fields (400) -> one atomic
accept in Redis (dedupe, STOP/START/HELP, queue) -> 200 with an empty TwiML
<Response/>. The turn runs later in the worker, so the webhook's time does not
depend on NLU, policies or actions. POST /webhooks/twilio_sms/status files
delivery callbacks. Redis being down is a 503 (Twilio then tries the fallback URL),
never a 500 and never an acknowledgement of a text that was not stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from rasa.core.channels.channel import InputChannel, UserMessage
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sanic import Blueprint, Sanic, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.twiml.messaging_response import MessagingResponse

import redisio
from connectors import (
    access,
    compat,
    keywords,
    log_privacy,
    process_exit,
    signature,
    status,
)
from connectors.conversations import RasaConversations
from connectors.inactivity import Inactivity
from connectors.inbound import InvalidInbound, parse_inbound
from connectors.inbox import Inbox
from connectors.sender import TwilioSender
from connectors.settings import SmsSettings
from connectors.worker import SmsWorker
from stores.contacts import ContactStore

logger = logging.getLogger(__name__)

EMPTY_TWIML = str(MessagingResponse())
FORM_TYPE = "application/x-www-form-urlencoded"
#: Seconds Sanic waits for requests in flight at shutdown (its default is 15, more
#: than a whole 10 s stop budget). An unfinished REST turn is cut; an SMS turn is
#: never in a request, it stays queued in Redis.
GRACEFUL_SHUTDOWN_SECONDS = 2.0
CLOSE_TIMEOUT = 1.0  # seconds for all Redis and HTTP clients to close, together
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
    at the limit. Sanic then drains no more than `limit` and closes the connection.
    """
    stream = request.stream
    if stream is None:
        return True
    stream.request_max_size = limit
    try:
        if int(request.headers.get("content-length") or 0) > limit:
            return False
    except ValueError:
        return False
    try:
        await request.receive_body()
    except PayloadTooLarge:
        return False
    return True


def _xml(status: int = 200) -> HTTPResponse:
    return response.text(EMPTY_TWIML, status=status, content_type="text/xml")


def _error(status: int, reason: str) -> HTTPResponse:
    return response.text(reason + "\n", status=status)


class TwilioSmsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "twilio_sms"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(SmsSettings.from_credentials(credentials))

    def __init__(self, settings: SmsSettings) -> None:
        log_privacy.install()
        log_privacy.register_secret(settings.auth_token)
        log_privacy.register_secret(urlsplit(settings.redis_url).password)
        self.settings = settings
        self.redis: Redis | None = None
        self.inbox: Inbox | None = None
        self.sender: TwilioSender | None = None
        self.worker: SmsWorker | None = None
        if not settings.validate_signature:
            logger.warning(
                "twilio_sms: validate_signature is OFF: anyone who can reach the "
                "webhook can text as any number. Use this only on a closed network."
            )

    def _signed_form(self, request: Request) -> dict[str, list[str]] | HTTPResponse:
        """The form of a request Twilio signed, or the 403/400 to answer instead."""
        if self.settings.validate_signature and not request.headers.get(
            "x-twilio-signature"
        ):
            return _error(403, "missing X-Twilio-Signature")
        try:
            form = read_form(request)
        except BadForm as err:
            return _error(400, str(err))
        if not self._signed(request, form):
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

    async def start(
        self, app: Sanic, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Open the clients and start the worker (the server's start listener)."""
        self.redis = redisio.client(self.settings.redis)
        self.inbox = Inbox(self.redis, self.settings.dedupe_hours * 3600)
        self.sender = TwilioSender(self.settings, self.redis)

        self.worker = SmsWorker(
            self.settings,
            self.redis,
            self.inbox,
            self.sender,
            on_new_message,
            RasaConversations(app),
            Inactivity(
                self.redis,
                self.settings.inactivity_warning_after_seconds,
                self.settings.inactivity_grace_seconds,
            ),
            ContactStore(self.redis),
            tracker_store=lambda: compat.unwrap_tracker_store(
                getattr(compat.agent_of(app), "tracker_store", None)
            ),
        )
        compat.raise_tracker_store_errors(
            getattr(compat.agent_of(app), "tracker_store", None)
        )
        app.config.GRACEFUL_SHUTDOWN_TIMEOUT = min(
            float(app.config.GRACEFUL_SHUTDOWN_TIMEOUT), GRACEFUL_SHUTDOWN_SECONDS
        )
        await self.worker.start()
        logger.info(
            "twilio_sms: webhook %s%s, sending through %s",
            self.settings.public_url,
            self.settings.webhook_path,
            self.settings.api_base_url,
        )

    async def stop(self) -> None:
        """Stop the worker, then close the clients, all within a few seconds.

        `asyncio.wait` with a timeout, not `wait_for`: on Python 3.10 `wait_for`
        waits for a timed-out close to finish cancelling, which may never happen.
        """
        if self.worker:
            await self.worker.stop()
        closing = [self.sender.close()] if self.sender else []
        if self.redis:  # the process's clients: the stores are done with them too
            closing.append(redisio.close_all())
        if not closing:
            return
        tasks = [asyncio.ensure_future(step) for step in closing]
        done, pending = await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning(
                "twilio_sms: %d client(s) not closed after %g s",
                len(pending),
                CLOSE_TIMEOUT,
            )
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                logger.warning(
                    "twilio_sms: closing a client failed: %r", task.exception()
                )

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        bp = self.routes()

        @bp.listener("before_server_start")
        async def guard(app: Sanic, _loop: Any) -> None:
            access.protect(app, "/webhooks/twilio_sms/")

        @bp.listener("after_server_start")
        async def started(app: Sanic, _loop: Any) -> None:
            await self.start(app, on_new_message)

        @bp.listener("before_server_stop")
        async def stopping(_app: Sanic, _loop: Any) -> None:
            await self.stop()

        @bp.listener("after_server_stop")
        async def leave(_app: Sanic, _loop: Any) -> None:
            # Shutdown listeners run in reverse order of registration, so this one
            # (registered with the channels) runs after Rasa's own close_resources.
            process_exit.exit_now(0)

        return bp

    def routes(self) -> Blueprint:
        """The HTTP routes alone, without the server's lifecycle: what in-process
        tests mount (tests/connectors/test_routes.py), with start() and stop()."""
        bp = Blueprint("twilio_sms_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return await self.health()

        # stream=True: the body is not read before the handler, which caps it.
        @bp.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            if not await read_body(request):
                return _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
            return await self.receive(request)

        @bp.route("/status", methods=["POST"], stream=True)
        async def delivery(request: Request) -> HTTPResponse:
            if not await read_body(request):
                return _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
            return await self.delivery(request)

        return bp

    async def health(self) -> HTTPResponse:
        """503 naming what is down, so a load balancer takes this replica out."""
        body: dict[str, Any] = {"enabled": self.settings.enabled}
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
        if not self.settings.enabled:
            return _xml()
        try:
            sms = parse_inbound({k: v[0] for k, v in form.items()})
        except InvalidInbound as err:
            return _error(400, str(err))
        if self.inbox is None:
            return _error(503, "starting up")
        try:
            outcome = await self.inbox.accept(sms, keywords.keyword(sms.body))
        except RedisError as err:
            logger.error("inbox unavailable, %s not stored: %s", sms.message_sid, err)
            return _error(503, "temporarily unavailable, not stored")
        logger.debug(
            "%s from %s: %s in %.1f ms",
            sms.message_sid,
            sms.from_number,
            outcome.value,
            (time.perf_counter() - started) * 1000,
        )
        return _xml()

    async def delivery(self, request: Request) -> HTTPResponse:
        form = self._signed_form(request)
        if isinstance(form, HTTPResponse):
            return form
        if self.redis is None:
            return _error(503, "starting up")
        try:
            await status.handle_callback(self.redis, {k: v[0] for k, v in form.items()})
        except status.InvalidStatus as err:
            return _error(400, str(err))
        except RedisError as err:
            logger.error("status callback not stored: %s", err)
            return _error(503, "temporarily unavailable, not stored")
        return response.empty(status=204)
