"""Sending SMS through Twilio's own async client, with a retry policy that cannot
send a message twice.

Retried: 20429 (Twilio says the request was not processed) and failures to connect
(the request never left). Not retried: a timeout or 5xx after the request was sent,
because a message POST is not idempotent and Twilio may have queued it. 21610 means
the customer opted out through Twilio: the pair is suppressed here too. A send never
raises into the worker; it returns what happened, and `retryable` says that Twilio
certainly does not have the text, so a later try cannot make a double.

A part sent with a `part_id` is sent at most once, whoever sends it and however
often: a record per part is claimed before each request ("sending"), set back to
"pending" when Twilio certainly did not take it, and holds the result afterwards.
A claim found "sending" is another sender's request in flight, or one whose
sender died mid-request (one this sender could not settle is not: it knows what
became of it, see connectors/part_claims.py). Once it is older than any request could take, Twilio's
message list is asked: a message to the customer with the same body created
after the claim means Twilio took it (it is recorded, not sent again); none
means the request never arrived, and the part is sent. A claim that may still
be in flight is tried again later (its sender may yet record the result); only a
list Twilio cannot answer gives `unknown`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import aiohttp
from redis.asyncio import Redis
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from analytics import metrics
from connectors import suppression
from connectors.part_claims import (
    PENDING,
    SENDING,
    PartClaim,
    UnsettledClaims,
    claimed_at,
)
from connectors.settings import SmsSettings
from connectors.sms_text import SmsPart
from connectors.status import KEEP_SECONDS, record_status
from redisio import keys as redis_keys
from redisio import scripts
from redisio.atomic import atomic, pairs

if TYPE_CHECKING:
    from analytics.counters import Counters

logger = logging.getLogger(__name__)

#: The `sent` list keeps a conversation's newest message ids, for 30 days after
#: the last one (each message hash expires on its own after that too).
SENT_KEPT = 1000
#: A claim older than one request's timeout plus this is from a sender that died.
CLAIM_GRACE_SECONDS = 5.0
#: Twilio's clock and ours may differ; a message created this much before the
#: claim still counts as the claimed send.
CLOCK_SKEW_SECONDS = 120.0
RETRYABLE_CODES = {20429}
OPTED_OUT = 21610
FAILED_CODES = {21211, 21408, 21614, 21612, 30034}
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


@dataclass(frozen=True)
class SendResult:
    """Outcome of one SMS; `status` is Twilio's, or one of ours for no send."""

    sid: str | None
    status: str  # queued|accepted|... from Twilio, or failed|unknown|suppressed
    attempts: int
    segments: int
    error_code: int | None = None
    error_message: str | None = None
    #: Twilio certainly does not have it (20429s, no connection, Redis down before
    #: the request): sending it later cannot make a double.
    retryable: bool = False
    #: Not sent now: the part's record says it was sent (or tried) before.
    replayed: bool = False

    @property
    def handed_over(self) -> bool:
        """Twilio has it, or may have it: either way it must not be sent again."""
        return self.status not in ("failed", "suppressed")

    def to_json(self) -> str:
        return json.dumps(
            {
                "sid": self.sid,
                "status": self.status,
                "attempts": self.attempts,
                "segments": self.segments,
                "error_code": self.error_code,
                "error_message": self.error_message,
            }
        )

    @classmethod
    def replay(cls, text: str, segments: int) -> SendResult:
        """The stored outcome of a part sent before; "sending" may have gone out."""
        if text.startswith(SENDING):
            return cls(
                None,
                "unknown",
                0,
                segments,
                None,
                "an earlier send of this part was interrupted; it may have arrived",
                replayed=True,
            )
        data = json.loads(text)
        return cls(**data, replayed=True)


def backoff(
    attempt: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP
) -> float:
    """Full jitter: spreads retries of many workers hitting the same 20429."""
    return random.uniform(0, min(cap, base * 2**attempt))


def _taken_elsewhere(attempt: int, segments: int) -> SendResult:
    """Another sender claimed the part while this one backed off: not ours."""
    return SendResult(
        None, "failed", attempt, segments, None, "claimed by another sender", True, True
    )


class _TimedHttpClient(AsyncTwilioHttpClient):
    """twilio's async HTTP client with its `timeout` applied to every request.

    twilio 8.2 passes each call's own timeout to aiohttp, None unless the caller
    gives one (`create_async` cannot), and aiohttp takes None as "no limit": the
    constructor's `timeout` and a session's ClientTimeout are both ignored, and a
    Twilio that never answers holds the send forever. A subclass passed as
    `http_client` is twilio's documented way to change how requests are made.
    """

    async def request(
        self, *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> Response:
        return await super().request(*args, timeout=timeout or self.timeout, **kwargs)


class TwilioSender:
    def __init__(
        self, settings: SmsSettings, redis: Redis, counters: Counters | None = None
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.counters = counters
        self.http = _TimedHttpClient(timeout=settings.send_timeout_seconds)
        self.client = Client(
            settings.account_sid, settings.auth_token, http_client=self.http
        )
        self.client.api.base_url = settings.api_base_url
        self.unsettled = UnsettledClaims()

    async def close(self) -> None:
        await self.http.close()

    async def send(
        self,
        to: str,
        business_number: str | None,
        part: SmsPart,
        part_id: str | None = None,
    ) -> SendResult:
        """Send one part from the number the customer texted (or the service).

        Never raises: Redis unavailable before the request is a retryable result
        (nothing was sent: an opted-out number must not get a text because the
        opt-out list could not be read); anything unexpected after the request
        may have reached Twilio and is `unknown`.
        """
        if not self.settings.enabled:
            # `enabled: false`: nothing goes out, whoever asks (a turn left in the
            # inbox, an inactivity warning, a reminder). Not retried, not recorded.
            metrics.SENDS.labels("disabled").inc()
            return SendResult(
                None, "disabled", 0, part.segments, None, "enabled: false"
            )
        sender = self.settings.sender_for(business_number)
        pair = self.settings.messaging_service_sid or sender or ""
        claim = PartClaim(self.redis, to, part_id, self.unsettled) if part_id else None
        try:
            if await suppression.is_suppressed(self.redis, to, pair):
                logger.info(
                    "not sending %s: recipient opted out",
                    part_id or "an unnumbered part",
                )
                metrics.SENDS.labels("suppressed").inc()
                return await self._record(
                    to,
                    pair,
                    part,
                    SendResult(None, "suppressed", 0, part.segments),
                    part_id,
                )
            if claim is not None:
                earlier = await claim.take()
                if earlier is not None:
                    found = await self._interrupted(claim, earlier, to, sender, part)
                    if found is not None:
                        return found
        except Exception as err:  # Redis, or a record that cannot be read
            logger.warning(
                "%s not sent, will be retried: redis: %r",
                part_id or "an unnumbered part",
                err,
            )
            return SendResult(
                None, "failed", 0, part.segments, None, f"redis: {err!r}", True
            )
        kwargs: dict[str, str] = {
            "to": to,
            "body": part.body,
            "status_callback": self.settings.status_callback_url,
        }
        if self.settings.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.settings.messaging_service_sid
        else:
            kwargs["from_"] = str(sender)
        result = await self._create(kwargs, part.segments, claim)
        metrics.SENDS.labels(result.status).inc()
        if claim is not None and not result.replayed:
            await claim.settle(PENDING if result.retryable else result.to_json())
        if result.retryable:
            return result  # not final: kept out of the message log until it is
        return await self._record(to, pair, part, result, part_id)

    async def _interrupted(
        self,
        claim: PartClaim,
        earlier: str,
        to: str,
        sender: str | None,
        part: SmsPart,
    ) -> SendResult | None:
        """What to do with a part another sender claimed: its stored result, or,
        if that sender died mid-request, Twilio's answer to "do you have it?".

        None means: this sender now holds the claim and sends the part. A claim
        younger than one request could take may still be in flight: try again
        later (retryable), by when it holds a result or is stale.
        """
        taken_at = claimed_at(earlier)
        if taken_at is None:
            return SendResult.replay(earlier, part.segments)
        stale_after = self.settings.send_timeout_seconds + CLAIM_GRACE_SECONDS
        if time.time() - taken_at < stale_after:
            return _taken_elsewhere(0, part.segments)
        try:
            messages = await self.client.messages.list_async(to=to, limit=20)
        except Exception as err:  # cannot ask: do not risk a double
            logger.warning("could not look up %s at Twilio: %r", claim.part_id, err)
            return SendResult.replay(earlier, part.segments)
        # The dead sender's request began after its claim and lasted at most one
        # timeout; Twilio's clock may differ from ours by CLOCK_SKEW_SECONDS.
        since = datetime.fromtimestamp(taken_at - CLOCK_SKEW_SECONDS, timezone.utc)
        until = datetime.fromtimestamp(
            taken_at + self.settings.send_timeout_seconds + CLOCK_SKEW_SECONDS,
            timezone.utc,
        )
        for message in messages:
            created = message.date_created
            if not (
                message.body == part.body
                and (
                    not sender
                    or self.settings.messaging_service_sid
                    or message.from_ == sender
                )
                and created is not None
                and since <= created <= until
            ):
                continue
            # The same text to the same customer may have gone out for another
            # part (FAQ answers repeat): only a message no part owns can be ours.
            if not await scripts.PART_ADOPT(
                self.redis,
                keys=[redis_keys.message(to, message.sid)],
                args=[claim.part_id, KEEP_SECONDS],
            ):
                continue
            result = SendResult(
                message.sid,
                str(message.status),
                0,
                int(message.num_segments or part.segments),
                replayed=True,
            )
            if not await claim.replace(earlier, result.to_json()):
                return SendResult.replay(earlier, part.segments)
            logger.info(
                "%s: interrupted send found at Twilio as %s", claim.part_id, message.sid
            )
            pair = self.settings.messaging_service_sid or sender or ""
            return await self._record(to, pair, part, result, claim.part_id)
        if await claim.replace(earlier, claim.token):
            logger.info("%s: interrupted send not at Twilio, sending it", claim.part_id)
            return None
        return SendResult.replay(earlier, part.segments)  # someone else got there

    async def _create(
        self, kwargs: dict[str, str], segments: int, claim: PartClaim | None = None
    ) -> SendResult:
        try:
            return await self._attempts(kwargs, segments, claim)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a bug or a library surprise: maybe sent
            logger.exception("send failed unexpectedly, not re-sent")
            return SendResult(None, "unknown", 0, segments, None, repr(err))

    async def _between_attempts(
        self, claim: PartClaim | None, attempt: int, segments: int
    ) -> SendResult | None:
        """Back off, the part marked "pending" meanwhile. None: send again; else
        why not (another sender claimed it in between, or Redis cannot say)."""
        if claim is not None:
            await claim.settle(PENDING)
        await asyncio.sleep(backoff(attempt))
        if claim is None:
            return None
        try:
            if await claim.take() is None:
                return None
        except Exception as err:  # another sender may hold it now: do not send
            logger.warning("could not claim %s again: %r", claim.part_id, err)
            return SendResult(
                None, "failed", attempt, segments, None, f"redis: {err!r}", True, True
            )
        return _taken_elsewhere(attempt, segments)

    async def _attempts(
        self, kwargs: dict[str, str], segments: int, claim: PartClaim | None
    ) -> SendResult:
        attempts = self.settings.send_attempts
        for attempt in range(1, attempts + 1):
            # What Twilio certainly did not take: retried after a back-off.
            try:
                message = await self.client.messages.create_async(**kwargs)
            except TwilioRestException as err:
                code = err.code or err.status
                if not (code in RETRYABLE_CODES or err.status == 429):
                    # 5xx: Twilio may have queued it; re-sending could double it.
                    status = "unknown" if err.status >= 500 else "failed"
                    # The code only: Twilio's message can quote the number.
                    logger.warning("send: Twilio error %s (HTTP %s)", code, err.status)
                    return SendResult(
                        None, status, attempt, segments, code, str(err.msg)
                    )
                refused = SendResult(
                    None, "failed", attempt, segments, code, str(err.msg), True
                )
            except aiohttp.ClientConnectorError as err:
                refused = SendResult(
                    None, "failed", attempt, segments, None, str(err), True
                )
            except (asyncio.TimeoutError, aiohttp.ClientError) as err:
                logger.warning("send: no answer, not re-sent: %r", err)
                return SendResult(None, "unknown", attempt, segments, None, repr(err))
            else:
                return SendResult(
                    message.sid,
                    str(message.status),
                    attempt,
                    int(message.num_segments or segments),
                )
            if attempt == attempts:
                logger.warning(
                    "send: not taken after %d tries: %s",
                    attempt,
                    refused.error_code or refused.error_message,
                )
                return refused
            metrics.SEND_RETRIES.inc()
            stop = await self._between_attempts(claim, attempt, segments)
            if stop is not None:
                return stop
        raise AssertionError("unreachable: the loop returns on its last attempt")

    async def _record(
        self,
        to: str,
        sender: str,
        part: SmsPart,
        result: SendResult,
        part_id: str | None = None,
    ) -> SendResult:
        """Keep every outbound text with its segments, for delivery status and logs;
        `part` names the reply part it belongs to (see PART_ADOPT)."""
        sid = result.sid or f"local-{uuid.uuid4().hex}"
        fields = {
            "part": part_id or "",
            "sid": sid,
            "to": to,
            "from": sender,
            "body": part.body,
            "encoding": part.encoding,
            "segments": result.segments,
            "attempts": result.attempts,
            "error_message": result.error_message or "",
            "created_at": time.time(),
        }
        # Only a code of its own: a status callback that came first may have filed
        # the carrier's (30003 …), and an empty one must not erase it.
        if result.error_code not in (None, ""):
            fields["error_code"] = result.error_code
        # 21610: the status and the opt-out are one script, so neither is kept
        # without the other.
        opt_out = sender if result.error_code == OPTED_OUT else None
        try:
            await record_status(
                self.redis,
                to,
                sid,
                result.status,
                result.error_code,
                opt_out,
                counters=self.counters,
                line=sender,
            )
            replies = await atomic(
                self.redis,
                # Whether this SID was recorded before (a replay), for the counts.
                ("HSETNX", redis_keys.message(to, sid), "counted", 1),
                ("HSET", redis_keys.message(to, sid), *pairs(fields)),
                ("EXPIRE", redis_keys.message(to, sid), KEEP_SECONDS),
                ("RPUSH", redis_keys.sent(to), sid),
                ("LTRIM", redis_keys.sent(to), -SENT_KEPT, -1),
                ("EXPIRE", redis_keys.sent(to), KEEP_SECONDS),
            )
            if replies[0] and result.sid and self.counters is not None:
                await self.counters.add(
                    sender,
                    {"outbound": 1, "segments_out": max(1, result.segments)},
                    customer=to,
                )
        except Exception:  # the text went out; losing its record must not stop replies
            # By SID only: the fields hold the customer's number and the text.
            logger.exception("could not record message %s", sid)
        return result
