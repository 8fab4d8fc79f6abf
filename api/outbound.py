"""`POST /sms/outbound`: the business starts a conversation by SMS, in context.

The order of checks is what a caller can rely on: the body (400), an answer
already given for the idempotency key (the same answer again), the key's rate
(429), opt-out (409), quiet hours (422, or queued), then the conversation is
started and the text sent; Twilio refusing it is a 502 with Twilio's code. Only
answers that cannot change on a retry are kept for the idempotency key: a 429,
or a send Twilio certainly did not take, lets the same key run again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from redis.asyncio import Redis

from api.deferred import DeferredTexts, Job
from api.errors import ApiError
from api.idempotency import Answer, Claim, Conflict, Idempotency, StillRunning, digest
from api.outbound_request import OutboundRequest, read_request
from api.rate_limit import RateLimit
from api.sending import PartSender, refusal
from api.settings import ApiSettings
from connectors import suppression
from connectors.conversations import NothingToSay, Paused, RasaConversations
from connectors.log_privacy import mask_number
from connectors.sender import TwilioSender
from connectors.settings import SmsSettings

logger = logging.getLogger(__name__)


class Outbound:
    def __init__(
        self,
        settings: SmsSettings,
        api: ApiSettings,
        redis: Redis,
        sender: TwilioSender,
        conversations: RasaConversations,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.api = api
        self.redis = redis
        self.sender = sender
        self.conversations = conversations
        self.clock = clock
        self.rate = RateLimit(redis, api.rate_per_minute, api.burst, clock)
        self.idempotency = Idempotency(redis, clock, api.idempotency_wait_seconds)
        self.deferred = DeferredTexts(redis, clock)

    async def handle(self, key_name: str, data: dict) -> tuple[Answer, dict[str, str]]:
        """The answer to one request and its extra headers (Retry-After)."""
        try:
            request = read_request(data, self.settings.max_message_length)
            self._check_slots(request)
            agent = await self._agent_number(request)
        except ApiError as err:
            return Answer(err.status, err.body()), err.headers
        claim: Claim | None = None
        if request.idempotency_key:
            try:
                got = await self.idempotency.begin(
                    key_name, request.idempotency_key, request.as_json()
                )
            except Conflict:
                return _answer(
                    409,
                    "idempotency_conflict",
                    "this idempotency_key was used for a different request",
                ), {}
            except StillRunning:
                return _answer(
                    409,
                    "in_progress",
                    "a request with this idempotency_key is still running; retry",
                ), {"Retry-After": "1"}
            if isinstance(got, Answer):
                return got, {}
            claim = got
        try:
            wait = await self.rate.take(key_name)
            if wait:
                raise ApiError(
                    429,
                    "rate_limited",
                    f"over {self.api.rate_per_minute:g} texts a minute for this key; "
                    f"retry in {wait:g} s",
                    {"Retry-After": str(int(wait))},
                )
            answer = await self.deliver(
                request, agent, key_name, _parts_base(key_name, request.idempotency_key)
            )
        except ApiError as err:
            if claim is not None:
                await claim.release()
            return Answer(err.status, err.body()), err.headers
        except BaseException:
            if claim is not None:
                await claim.release()
            raise
        if claim is not None:
            await claim.finish(answer)
        return answer, {}

    async def deliver(
        self,
        request: OutboundRequest,
        agent: str | None,
        key_name: str,
        parts_base: str,
    ) -> Answer:
        """Opt-out, quiet hours, then the conversation and the send. A retryable
        failure (nothing reached Twilio) raises ApiError, so it is not kept."""
        pair = self.settings.messaging_service_sid or agent or ""
        if await suppression.is_suppressed(self.redis, request.to, pair):
            return _opted_out()
        now = datetime.fromtimestamp(self.clock(), self.api.time_zone)
        if not request.urgent and not self.api.send_window.allows(now):
            opens = self.api.send_window.next_open(now)
            if request.when_allowed:
                job = await self.deferred.add(
                    key_name, request.as_json(), opens.timestamp()
                )
                logger.info(
                    "outbound %s to %s queued until %s",
                    job.id,
                    mask_number(request.to),
                    opens.isoformat(),
                )
                return Answer(
                    202,
                    {
                        "conversation_id": request.to,
                        "status": "queued",
                        "send_at": opens.isoformat(),
                        "message_sids": [],
                        "segments": 0,
                    },
                )
            return _answer(
                422,
                "quiet_hours",
                f"outside sending hours ({self.api.send_window} "
                f'{self.api.time_zone.key}); send with "urgent": true, or '
                f'"when_allowed": true to send at {opens.isoformat()}',
                allowed_from=opens.isoformat(),
            )
        send = PartSender(self.sender, self.settings, request.to, agent, parts_base)
        try:
            await self.conversations.start_outbound(
                request.to, agent, request.action, request.message, request.slots, send
            )
        except Paused:
            return _answer(
                409,
                "handed_off",
                "the conversation is with a person; reply with "
                "POST /sms/handoff/<conversation_id>/reply",
            )
        except NothingToSay:
            return _answer(
                422,
                "nothing_to_send",
                f"the {request.template} template has nothing to say to this "
                "number (no upcoming appointment?)",
            )
        return self._sent(request, send)

    def _sent(self, request: OutboundRequest, send: PartSender) -> Answer:
        sent, results = send.sent, send.results
        if sent:
            body = {
                "conversation_id": request.to,
                "status": "sent",
                "message_sids": [r.sid for r in sent if r.sid],
                "segments": sum(r.segments for r in sent),
            }
            if len(sent) < len(results):
                body["status"] = "partly_sent"
            return Answer(202, body)
        failed = results[0]
        if failed.status == "suppressed":
            return _opted_out()
        detail = refusal(failed)
        code, retryable = failed.error_code, failed.retryable
        if retryable:  # nothing reached Twilio: the same key may try again
            raise ApiError(
                502, "twilio_error", detail, twilio_code=code, retryable=retryable
            )
        return _answer(
            502, "twilio_error", detail, twilio_code=code, retryable=retryable
        )

    async def run_job(self, job: Job) -> None:
        """A deferred text whose time came (api/deferred.py), sent as the request
        said, once: its parts' ids come from the job id."""
        try:
            request = read_request(job.request, self.settings.max_message_length)
            agent = await self._agent_number(request)
        except ApiError as err:
            logger.warning("deferred text %s dropped: %s", job.id, err.detail)
            await self.deferred.done(job)
            return
        try:
            answer = await self.deliver(request, agent, job.key_name, f"out:{job.id}")
        except ApiError as err:
            answer = Answer(err.status, err.body())
            if err.status >= 500:  # Twilio did not take it: try again in a while
                await self.deferred.later(job, self.clock() + 60)
                return
        if answer.status == 202 and answer.body.get("status") == "queued":
            await self.deferred.done(job)  # queued again by deliver: a new job
            return
        logger.info(
            "deferred text %s: %s %s",
            job.id,
            answer.status,
            answer.body.get("status") or answer.body.get("error"),
        )
        await self.deferred.done(job)

    async def run_due_jobs(self) -> int:
        jobs = await self.deferred.take_due()
        for job in jobs:
            await self.run_job(job)
        return len(jobs)

    def _check_slots(self, request: OutboundRequest) -> None:
        unknown = sorted(set(request.slots) - self.conversations.slot_names())
        if unknown:
            raise ApiError(400, "unknown_slot", f"no slot(s) {unknown} in the domain")

    async def _agent_number(self, request: OutboundRequest) -> str | None:
        numbers = self.settings.numbers
        if request.agent_number is not None:
            if request.agent_number not in numbers:
                raise ApiError(
                    400,
                    "unknown_agent_number",
                    "agent_number is not one of this assistant's numbers "
                    f"({', '.join(numbers) or 'none: it sends through a Messaging Service'})",
                )
            return request.agent_number
        last = await self.conversations.business_number(request.to)
        return self.settings.sender_for(last)


def _parts_base(key_name: str, idempotency_key: str | None) -> str:
    """Part ids for the sender: the same idempotency key, the same parts, so a
    re-run after a crash sends none twice."""
    if idempotency_key:
        return f"out:{digest(key_name + ':' + idempotency_key)}"
    return f"out:{uuid.uuid4().hex}"


def _answer(status: int, code: str, detail: str, **extra: object) -> Answer:
    return Answer(status, {"error": code, "detail": detail, **extra})


def _opted_out() -> Answer:
    return _answer(
        409,
        "opted_out",
        "the recipient has opted out of texts from this number (they can text "
        "START to opt back in)",
    )
