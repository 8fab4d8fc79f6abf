"""Staff answer a conversation the bot handed to a person, and give it back.

The bot paused the conversation (actions/handoff.py) and listed it in
`{handoff}:pending`; here staff see that list, text the customer from the same
business number (opt-outs hold for staff too), and resume the bot.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from api.errors import ApiError
from api.outbound_request import parse_body
from api.sending import PartSender, refusal
from connectors import suppression
from connectors.conversations import RasaConversations
from connectors.inbound import canonical_e164
from connectors.sender import TwilioSender
from connectors.settings import SmsSettings
from redisio import keys as redis_keys


class Handoffs:
    def __init__(
        self,
        settings: SmsSettings,
        redis: Redis,
        sender: TwilioSender,
        conversations: RasaConversations,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.sender = sender
        self.conversations = conversations

    async def waiting(self) -> list[dict[str, Any]]:
        """Conversations waiting for a person, oldest request first."""
        raw = await self.redis.hgetall(redis_keys.HANDOFF_PENDING)
        listed = []
        for customer, value in raw.items():
            request = json.loads(value)
            listed.append(
                {
                    "conversation_id": customer,
                    "requested_at": request.get("requested_at"),
                    "channel": request.get("channel"),
                    "last_messages": request.get("last_messages") or [],
                }
            )
        return sorted(listed, key=lambda r: str(r["requested_at"]))

    async def reply(self, customer: str, body: bytes | None) -> dict[str, Any]:
        customer = await self._known(customer)
        data = parse_body(body)
        unknown = sorted(set(data) - {"message"})
        if unknown:
            raise ApiError(400, "invalid_request", f"unknown field(s) {unknown}")
        message = data.get("message")
        if not isinstance(message, str) or not message.strip():
            raise ApiError(400, "empty_message", "message is required")
        message = message.strip()
        if len(message) > self.settings.max_message_length:
            raise ApiError(
                400,
                "message_too_long",
                f"message is {len(message)} characters; at most "
                f"{self.settings.max_message_length}",
            )
        agent = self.settings.sender_for(
            await self.conversations.business_number(customer)
        )
        pair = self.settings.messaging_service_sid or agent or ""
        if await suppression.is_suppressed(self.redis, customer, pair):
            raise ApiError(409, "opted_out", "the customer has opted out of texts")
        send = PartSender(self.sender, self.settings, customer, agent)
        if not await self.conversations.staff_reply(customer, message, send):
            raise ApiError(
                409,
                "not_handed_off",
                "the bot is answering this conversation; it is not waiting for a "
                "person",
            )
        sent = send.sent
        if not sent:
            failed = send.results[0]
            if failed.status == "suppressed":
                raise ApiError(409, "opted_out", "the customer has opted out of texts")
            raise ApiError(
                502,
                "twilio_error",
                refusal(failed),
                twilio_code=failed.error_code,
                retryable=failed.retryable,
            )
        return {
            "conversation_id": customer,
            "message_sids": [r.sid for r in sent if r.sid],
            "segments": sum(r.segments for r in sent),
        }

    async def resume(self, customer: str) -> dict[str, Any]:
        customer = await self._known(customer)
        resumed = await self.conversations.resume(customer)
        await self.redis.hdel(redis_keys.HANDOFF_PENDING, customer)
        if not resumed:
            raise ApiError(
                409, "not_handed_off", "the bot is already answering this conversation"
            )
        return {"conversation_id": customer, "status": "resumed"}

    async def _known(self, customer: str) -> str:
        if canonical_e164(customer) is None:
            raise ApiError(
                400,
                "invalid_number",
                "the conversation id is the customer's number in E.164 (+14155552671)",
            )
        if not await self.conversations.exists(customer):
            raise ApiError(404, "not_found", "no conversation with this number")
        return customer
