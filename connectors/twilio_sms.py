"""TwilioSmsInput: the Rasa input channel Twilio's webhook points at. It only wires.

The routes are SmsWebhook's (connectors/webhook.py): signed webhook -> one atomic
accept in Redis -> empty TwiML, and delivery callbacks. The turn runs later in this
process's worker, so the webhook's answer does not wait for NLU, policies or actions
-- except for the event loop they share; `make run` therefore serves the webhook
from `connectors.ingress`, a process of its own, and these routes are the fallback
for a deployment that points Twilio straight at a Rasa server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

import redisio
from analytics import metrics
from analytics.conversations import ConversationLog
from analytics.report import AnalyticsReport
from analytics.tracker_events import counts_for
from api.analytics_routes import OperatorViews
from api.dashboard import FILES as DASHBOARD_FILES
from api.dashboard import add_dashboard
from api.handoff import Handoffs
from api.outbound import Outbound
from api.routes import PREFIX as API_PREFIX
from api.routes import BusinessApi, add_routes
from api.settings import ApiSettings
from api.tasks import ApiTasks
from connectors import access, compat, process_exit
from connectors.conversations import RasaConversations
from connectors.inactivity import Inactivity
from connectors.inbox import Inbox
from connectors.output import SendingOutput
from connectors.sender import SendResult, TwilioSender
from connectors.settings import SmsSettings
from connectors.sms_text import shape_turn
from connectors.webhook import MAX_BODY_BYTES, SmsWebhook
from connectors.worker import SmsWorker
from redisio import keys as redis_keys
from stores.contacts import ContactStore
from stores.tracker_store import RedisSessionTrackerStore

__all__ = ["MAX_BODY_BYTES", "TwilioSmsInput"]

logger = logging.getLogger(__name__)

#: Where Twilio's webhook and delivery callbacks are (connectors/settings.py).
PREFIX = "/webhooks/twilio_sms"
#: Prometheus metrics, behind the business API's keys (analytics/metrics.py).
METRICS_PATH = "/metrics"

#: Seconds Sanic waits for requests in flight at shutdown (its default is 15, more
#: than a whole 10 s stop budget). An unfinished REST turn is cut; an SMS turn is
#: never in a request, it stays queued in Redis.
GRACEFUL_SHUTDOWN_SECONDS = 2.0
CLOSE_TIMEOUT = 1.0  # seconds for all Redis and HTTP clients to close, together


class TwilioSmsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "twilio_sms"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(SmsSettings.from_credentials(credentials))

    def __init__(
        self, settings: SmsSettings, api_settings: ApiSettings | None = None
    ) -> None:
        self.settings = settings
        self.api_settings = api_settings or ApiSettings.from_env()
        self.webhook = SmsWebhook(settings)
        self.sender: TwilioSender | None = None
        self.worker: SmsWorker | None = None
        self.conversations: RasaConversations | None = None
        self.api: BusinessApi | None = None
        self.api_tasks: ApiTasks | None = None

    def url_prefix(self) -> str:
        """Rasa mounts a channel's blueprint under /webhooks/<this>; "/" mounts it
        at the root, so the blueprint holds both /webhooks/twilio_sms/… (Twilio)
        and the business API's /sms/… (api/routes.py)."""
        return "/"

    @property
    def redis(self) -> Redis | None:
        return self.webhook.redis

    @property
    def inbox(self) -> Inbox | None:
        return self.webhook.inbox

    async def start(
        self, app: Sanic, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Open the clients and start the worker (the server's start listener)."""
        redis = self.webhook.open()
        assert self.webhook.inbox is not None
        self.sender = TwilioSender(self.settings, redis, self.webhook.counters)
        self.conversations = RasaConversations(app)

        self.worker = SmsWorker(
            self.settings,
            redis,
            self.webhook.inbox,
            self.sender,
            on_new_message,
            self.conversations,
            Inactivity(
                redis,
                self.settings.inactivity_warning_after_seconds,
                self.settings.inactivity_grace_seconds,
            ),
            ContactStore(redis),
            tracker_store=lambda: compat.unwrap_tracker_store(
                getattr(compat.agent_of(app), "tracker_store", None)
            ),
        )
        compat.raise_tracker_store_errors(
            getattr(compat.agent_of(app), "tracker_store", None)
        )
        store = compat.unwrap_tracker_store(
            getattr(compat.agent_of(app), "tracker_store", None)
        )
        if isinstance(store, RedisSessionTrackerStore):
            store.on_append.append(self._count_sessions)
        compat.check_action_responses_with_one_validator()
        compat.resolve_event_types_from_a_table()
        app.config.GRACEFUL_SHUTDOWN_TIMEOUT = min(
            float(app.config.GRACEFUL_SHUTDOWN_TIMEOUT), GRACEFUL_SHUTDOWN_SECONDS
        )
        await self.worker.start()
        outbound = Outbound(
            self.settings, self.api_settings, redis, self.sender, self.conversations
        )
        conversations = self.conversations
        self.api = BusinessApi(
            outbound,
            Handoffs(self.settings, redis, self.sender, conversations),
            OperatorViews(
                AnalyticsReport(redis, self.webhook.analytics),
                ConversationLog(
                    redis, conversations.history, conversations.session_minutes
                ),
            ),
            enabled=self.settings.enabled,
        )
        self.api_tasks = ApiTasks(outbound, self.api_settings, redis)
        if self.settings.enabled:  # switched off: no reminders, no deferred texts
            self.api_tasks.start()
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
        if self.api_tasks:
            await self.api_tasks.stop()
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

    def get_output_channel(self) -> OutputChannel | None:
        """What Rasa's execute route sends to with `?output_channel=twilio_sms`
        (or `latest` after an SMS): a reminder the business sends goes out by SMS.
        None before the channel started (Rasa then collects the texts instead)."""
        if self.sender is None or self.conversations is None:
            return None
        return SendingOutput(self._send_now)

    async def _send_now(self, customer: str, texts: list[str]) -> list[SendResult]:
        """From the number the customer last texted; the sender skips an opted-out
        number and records each part like a reply."""
        assert self.sender is not None and self.conversations is not None
        business = await self.conversations.business_number(customer)
        parts = shape_turn(
            texts,
            max_length=self.settings.max_message_length,
            max_parts=self.settings.max_parts_per_turn,
        )
        return [await self.sender.send(customer, business, part) for part in parts]

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        bp = self.webhook.routes(
            PREFIX, Blueprint(f"{self.name()}_routes", url_prefix="/")
        )
        add_routes(bp, lambda: self.api)
        add_dashboard(bp)

        @bp.route(METRICS_PATH, methods=["GET"])
        async def prometheus(request: Request) -> HTTPResponse:
            if getattr(request.ctx, "api_key", None) is None:  # never open
                return response.json({"error": "unauthorized"}, status=401)
            return await self.metrics()

        @bp.listener("before_server_start")
        async def guard(app: Sanic, _loop: Any) -> None:
            guard = access.protect(app, PREFIX + "/")
            guard.require_key(API_PREFIX + "/", self.api_settings.keys)
            guard.require_key(METRICS_PATH, self.api_settings.keys)
            guard.allow(list(DASHBOARD_FILES))
            if not self.api_settings.keys:
                logger.warning(
                    "The business API (/sms/…) has no keys: every request answers "
                    "401. Set SMS_API_KEYS to use it."
                )

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

    async def _count_sessions(
        self, tracker: DialogueStateTracker, new_events: list[Event]
    ) -> None:
        """Sessions started and hand-offs, from the events as they are stored."""
        line, counts = counts_for(tracker, new_events)
        if line and counts and self.webhook.counters is not None:
            await self.webhook.counters.add(line, counts)

    async def metrics(self) -> HTTPResponse:
        """Every process's figures; the inbox depth from Redis (omitted if down)."""
        depth = None
        if self.redis is not None:
            try:
                depth = int(await self.redis.zcard(redis_keys.WORK))
            except RedisError as err:
                logger.warning("metrics: inbox depth unknown: %s", type(err).__name__)
        body, content_type = metrics.render(depth)
        return HTTPResponse(body, content_type=content_type)

    def routes(self) -> Blueprint:
        """The webhook's routes alone, without the server's lifecycle: what
        in-process tests mount (tests/connectors/test_routes.py) under PREFIX."""
        return self.webhook.routes()
