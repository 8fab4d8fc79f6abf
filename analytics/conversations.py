"""Conversations for operators: a searchable list and one thread across sessions.

The list comes from the index the counters keep (analytics/counters.py): every
number that texted or was texted, by last activity. A thread joins the tracker's
events (the customer's texts, session starts, hand-offs, inactivity warnings)
with the delivery records of what was sent (text, segments, status, error code;
kept 30 days, connectors/status.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa.shared.core.events import (
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SessionStarted,
    UserUttered,
)
from redis.asyncio import Redis

from connectors.conversations import EXTERNAL_PREFIX, INACTIVITY_INTENT
from redisio import keys as redis_keys
from stores.contacts import ContactStore

#: The conversation states the list shows.
STATES = ("active", "paused", "closed", "opted_out")
#: How far apart a bot event and its delivery record may be and still be one text.
SAME_TEXT_SECONDS = 120.0


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    def body(self) -> dict[str, Any]:
        return {
            "conversations": self.items,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": max(1, -(-self.total // self.per_page)),
        }


class ConversationLog:
    def __init__(
        self,
        redis: Redis,
        history: Callable[[str], Awaitable[list[Event]]],
        session_minutes: Callable[[], float],
    ) -> None:
        self.redis = redis
        self.history = history
        self.session_minutes = session_minutes
        self.contacts = ContactStore(redis)

    async def active_count(self, now: float | None = None) -> int:
        """Conversations with a text in or out within Rasa's session expiry."""
        minutes = self.session_minutes()
        now = time.time() if now is None else now
        low = now - minutes * 60 if minutes else "-inf"
        return int(await self.redis.zcount(redis_keys.CONVERSATIONS, low, "+inf"))

    async def page(self, search: str = "", page: int = 1, per_page: int = 25) -> Page:
        """Newest activity first; `search` keeps numbers containing those digits."""
        digits = "".join(ch for ch in search if ch.isdigit())
        if digits:
            everyone = await self.redis.zrevrange(
                redis_keys.CONVERSATIONS, 0, -1, withscores=True
            )
            found = [(n, at) for n, at in everyone if digits in n]
            total = len(found)
            chosen = found[(page - 1) * per_page : page * per_page]
        else:
            total = int(await self.redis.zcard(redis_keys.CONVERSATIONS))
            start = (page - 1) * per_page
            chosen = await self.redis.zrevrange(
                redis_keys.CONVERSATIONS, start, start + per_page - 1, withscores=True
            )
        items = [await self._summary(number, at) for number, at in chosen]
        return Page(items, total, page, per_page)

    async def _summary(self, number: str, last_at: float) -> dict[str, Any]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(redis_keys.conversation_summary(number))
            pipe.hlen(redis_keys.opt_out(number))
            pipe.hexists(redis_keys.HANDOFF_PENDING, number)
            counts, opted_out, paused = await pipe.execute()
        contact = await self.contacts.get(number)
        inbound = int(counts.get("inbound") or 0)
        outbound = int(counts.get("outbound") or 0)
        return {
            "number": number,
            "contact_name": contact.name if contact else None,
            "line": counts.get("line"),
            "last_activity": last_at,
            "messages": inbound + outbound,
            "inbound": inbound,
            "outbound": outbound,
            "state": self._state(bool(opted_out), bool(paused), last_at),
        }

    def _state(self, opted_out: bool, paused: bool, last_at: float) -> str:
        if opted_out:
            return "opted_out"
        if paused:
            return "paused"
        minutes = self.session_minutes()
        if not minutes or time.time() - last_at < minutes * 60:
            return "active"
        return "closed"

    async def known(self, number: str) -> bool:
        return await self.redis.zscore(redis_keys.CONVERSATIONS, number) is not None

    async def thread(self, number: str) -> dict[str, Any]:
        """Every text across sessions, oldest first, with what happened between."""
        events = await self.history(number)
        sent = await self._sent(number)
        items: list[dict[str, Any]] = []
        marks: list[tuple[float, str, str]] = []  # bot texts marked staff/warning
        for event in events:
            at = float(event.timestamp)
            if isinstance(event, SessionStarted):
                items.append({"type": "session_started", "at": at})
            elif isinstance(event, ConversationPaused):
                items.append({"type": "handoff", "at": at})
            elif isinstance(event, ConversationResumed):
                items.append({"type": "resumed", "at": at})
            elif isinstance(event, UserUttered):
                intent = (event.intent or {}).get("name")
                text = event.text or ""
                if text.startswith(EXTERNAL_PREFIX):
                    if intent == INACTIVITY_INTENT:
                        items.append({"type": "inactivity_warning", "at": at})
                    continue
                metadata = event.metadata or {}
                items.append(
                    {
                        "type": "message",
                        "direction": "in",
                        "text": text,
                        "at": at,
                        "segments": int(metadata.get("num_segments") or 1),
                        "message_sid": metadata.get("message_sid"),
                    }
                )
            elif isinstance(event, BotUttered):
                metadata = event.metadata or {}
                if metadata.get("staff"):
                    marks.append((at, event.text or "", "staff"))
        for record in sent:
            for at, text, mark in marks:
                if (
                    text == record["text"]
                    and abs(at - record["at"]) < SAME_TEXT_SECONDS
                ):
                    record["by"] = mark
                    break
            items.append(record)
        items.sort(key=lambda item: item["at"])
        contact = await self.contacts.get(number)
        return {
            "number": number,
            "contact_name": contact.name if contact else None,
            "items": items,
        }

    async def _sent(self, number: str) -> list[dict[str, Any]]:
        sids = await self.redis.lrange(redis_keys.sent(number), 0, -1)
        if not sids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.hgetall(redis_keys.message(number, sid))
            records = await pipe.execute()
        out = []
        for sid, record in zip(sids, records, strict=True):
            if not record:
                continue
            sid_shown = None if sid.startswith("local-") else sid
            out.append(
                {
                    "type": "message",
                    "direction": "out",
                    "text": record.get("body", ""),
                    "at": float(record.get("created_at") or 0),
                    "segments": int(record.get("segments") or 1),
                    "status": record.get("status") or "unknown",
                    "error_code": record.get("error_code") or None,
                    "message_sid": sid_shown,
                    "by": "bot",
                }
            )
        return out
