"""The business API's HTTP routes, on the Rasa server next to the SMS webhook.

Every path under /sms/ needs an API key (connectors/access.py checks it before a
route runs); bodies are capped before they are read. The routes only translate
HTTP: the work is in api/outbound.py and api/handoff.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from api.analytics_routes import OperatorViews
from api.errors import ApiError
from api.handoff import Handoffs
from api.outbound import Outbound
from api.outbound_request import parse_body
from connectors.webhook import read_body

logger = logging.getLogger(__name__)

PREFIX = "/sms"
MAX_BODY_BYTES = 64 * 1024


@dataclass
class BusinessApi:
    outbound: Outbound
    handoffs: Handoffs
    views: OperatorViews
    #: The channel's `enabled`: switched off, no route sends anything (503).
    enabled: bool = True


def query(request: Request) -> dict[str, list[str]]:
    """Every value of each query parameter (Sanic's `args.get` gives the first)."""
    return {name: request.args.getlist(name) for name in request.args}


def add_routes(bp: Blueprint, api: Callable[[], BusinessApi | None]) -> None:
    """`api()` is None until the channel has started (then: 503)."""

    def route(
        path: str, method: str, sends: bool = False
    ) -> Callable[[Callable[..., Awaitable[HTTPResponse]]], Any]:
        def wrap(handler: Callable[..., Awaitable[HTTPResponse]]) -> Any:
            async def run(request: Request, **params: str) -> HTTPResponse:
                if getattr(request.ctx, "api_key", None) is None:
                    # Mounted without the guard (connectors/access.py): never open.
                    return ApiError(
                        401, "unauthorized", "an API key is required"
                    ).response()
                started = api()
                if started is None:
                    return ApiError(503, "starting", "starting up; retry").response()
                if sends and not started.enabled:
                    return ApiError(
                        503,
                        "disabled",
                        "the assistant is switched off (twilio_sms enabled: false): "
                        "nothing is sent",
                    ).response()
                if method == "POST" and not await read_body(request, MAX_BODY_BYTES):
                    return ApiError(
                        413, "too_large", f"body larger than {MAX_BODY_BYTES} bytes"
                    ).response()
                # "%2B14155552671" (encodeURIComponent, most clients) is the
                # number "+14155552671"; Sanic 21.12 passes the raw segment.
                params = {name: unquote(value) for name, value in params.items()}
                try:
                    return await handler(request, started, **params)
                except ApiError as err:
                    return err.response()

            run.__name__ = handler.__name__
            return bp.route(PREFIX + path, methods=[method], stream=method == "POST")(
                run
            )

        return wrap

    @route("/outbound", "POST", sends=True)
    async def outbound(request: Request, started: BusinessApi) -> HTTPResponse:
        data = parse_body(request.body)
        answer, headers = await started.outbound.handle(request.ctx.api_key, data)
        return response.json(answer.body, status=answer.status, headers=headers)

    @route("/handoff", "GET")
    async def handoff_list(request: Request, started: BusinessApi) -> HTTPResponse:
        return response.json({"waiting": await started.handoffs.waiting()})

    @route("/handoff/<conversation_id>/reply", "POST", sends=True)
    async def handoff_reply(
        request: Request, started: BusinessApi, conversation_id: str
    ) -> HTTPResponse:
        body = await started.handoffs.reply(conversation_id, request.body)
        return response.json(body, status=202)

    @route("/handoff/<conversation_id>/resume", "POST")
    async def handoff_resume(
        request: Request, started: BusinessApi, conversation_id: str
    ) -> HTTPResponse:
        return response.json(await started.handoffs.resume(conversation_id))

    @route("/analytics", "GET")
    async def analytics(request: Request, started: BusinessApi) -> HTTPResponse:
        return response.json(await started.views.analytics(query(request)))

    @route("/conversations", "GET")
    async def conversations(request: Request, started: BusinessApi) -> HTTPResponse:
        return response.json(await started.views.conversations(query(request)))

    @route("/conversations/<conversation_id>", "GET")
    async def conversation(
        request: Request, started: BusinessApi, conversation_id: str
    ) -> HTTPResponse:
        return response.json(await started.views.thread(conversation_id))
