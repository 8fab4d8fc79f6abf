"""Sending SMS through Twilio's own async client, with a retry policy that cannot
send a message twice.

Retried: 20429 (Twilio says the request was not processed) and failures to connect
(the request never left). Not retried: a timeout or 5xx after the request was sent,
because a message POST is not idempotent and Twilio may have queued it. 21610 means
the customer opted out through Twilio: the pair is suppressed here too. A send never
raises into the worker; it returns what happened.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from dataclasses import dataclass

import aiohttp
from redis.asyncio import Redis
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from connectors import redis_keys, suppression
from connectors.settings import SmsSettings
from connectors.sms_text import SmsPart
from connectors.status import record_status

logger = logging.getLogger(__name__)

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

    @property
    def handed_over(self) -> bool:
        """Twilio has it, or may have it: either way it must not be sent again."""
        return self.status not in ("failed", "suppressed")


def backoff(
    attempt: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP
) -> float:
    """Full jitter: spreads retries of many workers hitting the same 20429."""
    return random.uniform(0, min(cap, base * 2**attempt))


class TwilioSender:
    def __init__(self, settings: SmsSettings, redis: Redis) -> None:
        self.settings = settings
        self.redis = redis
        # twilio 8.2 does not pass its own `timeout` to aiohttp, so the session
        # carries it (and the client makes none of its own, which would leak).
        self.http = AsyncTwilioHttpClient(pool_connections=False)
        self.http.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.send_timeout_seconds)
        )
        self.client = Client(
            settings.account_sid, settings.auth_token, http_client=self.http
        )
        self.client.api.base_url = settings.api_base_url

    async def close(self) -> None:
        await self.http.session.close()

    async def send(
        self, to: str, business_number: str | None, part: SmsPart
    ) -> SendResult:
        """Send one part from the number the customer texted (or the service)."""
        sender = self.settings.sender_for(business_number)
        pair = self.settings.messaging_service_sid or sender or ""
        if await suppression.is_suppressed(self.redis, to, pair):
            logger.info("not sending to opted-out %s (from %s)", to, pair)
            return await self._record(
                to, pair, part, SendResult(None, "suppressed", 0, part.segments)
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
        result = await self._create(kwargs, part.segments)
        return await self._record(to, pair, part, result)

    async def _create(self, kwargs: dict[str, str], segments: int) -> SendResult:
        attempts = self.settings.send_attempts
        for attempt in range(1, attempts + 1):
            try:
                message = await self.client.messages.create_async(**kwargs)
            except TwilioRestException as err:
                code = err.code or err.status
                if (
                    code in RETRYABLE_CODES or err.status == 429
                ) and attempt < attempts:
                    await asyncio.sleep(backoff(attempt))
                    continue
                # 5xx: Twilio may have queued it; re-sending could send it twice.
                status = "unknown" if err.status >= 500 else "failed"
                logger.warning("send to %s: %s %s", kwargs["to"], code, err.msg)
                return SendResult(None, status, attempt, segments, code, str(err.msg))
            except aiohttp.ClientConnectorError as err:
                if attempt < attempts:
                    await asyncio.sleep(backoff(attempt))
                    continue
                logger.warning("send to %s: cannot connect: %s", kwargs["to"], err)
                return SendResult(None, "failed", attempt, segments, None, str(err))
            except (asyncio.TimeoutError, aiohttp.ClientError) as err:
                logger.warning(
                    "send to %s: no answer, not re-sent: %r", kwargs["to"], err
                )
                return SendResult(None, "unknown", attempt, segments, None, repr(err))
            return SendResult(
                message.sid,
                str(message.status),
                attempt,
                int(message.num_segments or segments),
            )
        raise AssertionError("unreachable: the loop returns on its last attempt")

    async def _record(
        self, to: str, sender: str, part: SmsPart, result: SendResult
    ) -> SendResult:
        """Keep every outbound text with its segments, for delivery status and logs."""
        sid = result.sid or f"local-{uuid.uuid4().hex}"
        fields = {
            "sid": sid,
            "to": to,
            "from": sender,
            "body": part.body,
            "encoding": part.encoding,
            "segments": result.segments,
            "attempts": result.attempts,
            "error_code": "" if result.error_code is None else result.error_code,
            "error_message": result.error_message or "",
            "created_at": time.time(),
        }
        # 21610: the status and the opt-out are one script, so neither is kept
        # without the other.
        opt_out = sender if result.error_code == OPTED_OUT else None
        try:
            await record_status(
                self.redis, to, sid, result.status, result.error_code, opt_out
            )
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(redis_keys.message(to, sid), mapping=fields)
                pipe.rpush(redis_keys.sent(to), sid)
                await pipe.execute()
        except Exception:  # the text went out; losing its record must not stop replies
            # By SID only: the fields hold the customer's number and the text.
            logger.exception("could not record message %s", sid)
        return result
