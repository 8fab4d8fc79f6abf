"""The operators' read-only routes: analytics, the conversations list and a thread.

Query strings are checked here (a bad one is a 400 naming it); the reading is in
analytics/. Mounted with the business API's routes, so the same API key guards them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from analytics.conversations import ConversationLog
from analytics.report import PERIODS, AnalyticsReport
from api.errors import ApiError
from connectors.inbound import canonical_e164

_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
MAX_PER_PAGE = 100


def _one(args: Mapping[str, list[str]], name: str) -> str | None:
    values = args.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(400, "invalid_query", f"{name} is given more than once")
    return values[0]


def _whole(args: Mapping[str, list[str]], name: str, default: int, high: int) -> int:
    raw = _one(args, name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise ApiError(400, "invalid_query", f"{name}: a whole number 1..{high}")
    return int(raw)


def _known_names(args: Mapping[str, list[str]], names: set[str]) -> None:
    unknown = sorted(set(args) - names)
    if unknown:
        raise ApiError(
            400,
            "invalid_query",
            f"unknown parameter(s) {unknown}; known: {sorted(names)}",
        )


def customer_number(value: str) -> str:
    """The conversation id of a path: a customer number in canonical E.164."""
    number = canonical_e164(value)
    if number is None:
        raise ApiError(
            400,
            "invalid_number",
            "the conversation id is the customer's number in E.164 (+14155552671)",
        )
    return number


class OperatorViews:
    def __init__(self, report: AnalyticsReport, log: ConversationLog) -> None:
        self.report = report
        self.log = log

    async def analytics(self, args: Mapping[str, list[str]]) -> dict[str, Any]:
        _known_names(args, {"days", "number"})
        days_raw = _one(args, "days") or "7"
        if days_raw not in {str(p) for p in PERIODS}:
            raise ApiError(400, "invalid_days", "days: one of 7, 30 or 90")
        line = _one(args, "number") or None
        if line is not None and not (canonical_e164(line) or _SERVICE_SID.match(line)):
            raise ApiError(
                400,
                "invalid_number",
                "number: a business number in E.164 (+15017122661) or a Messaging "
                "Service SID (MG…)",
            )
        return await self.report.summary(
            int(days_raw), line, active_sessions=await self.log.active_count()
        )

    async def conversations(self, args: Mapping[str, list[str]]) -> dict[str, Any]:
        _known_names(args, {"search", "page", "per_page"})
        search = _one(args, "search") or ""
        if len(search) > 32:
            raise ApiError(400, "invalid_query", "search: at most 32 characters")
        page = _whole(args, "page", 1, 1_000_000)
        per_page = _whole(args, "per_page", 25, MAX_PER_PAGE)
        found = await self.log.page(search, page, per_page)
        return found.body()

    async def thread(self, conversation_id: str) -> dict[str, Any]:
        number = customer_number(conversation_id)
        thread = await self.log.thread(number)
        if not thread["items"] and not await self.log.known(number):
            raise ApiError(404, "not_found", "no conversation with this number")
        return thread
