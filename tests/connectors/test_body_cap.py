"""The body cap over a real socket: Sanic closes the connection after refusing a
body, so the answer must say so, or a pooling client (the ingress forwarding to
Rasa) sends its next request down the closing socket and gets a reset (seen as a
random 502 "the Rasa server is not up" right after a 413)."""

from __future__ import annotations

import uuid

import aiohttp
from sanic import Sanic, response
from sanic.request import Request

from connectors.webhook import read_body
from tools.harness.redis_server import free_port

CAP = 1024


def capped_app() -> Sanic:
    app = Sanic(f"cap-{uuid.uuid4().hex[:12]}")

    @app.post("/in", stream=True)
    async def take(request: Request) -> response.HTTPResponse:
        if not await read_body(request, CAP):
            return response.json({"error": "too_large"}, status=413)
        return response.json({"read": len(request.body)})

    @app.get("/ok")
    async def ok(request: Request) -> response.HTTPResponse:
        return response.json({"ok": True})

    return app


async def test_after_a_refused_body_the_next_pooled_request_is_answered() -> None:
    port = free_port()
    server = await capped_app().create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True
    )
    assert server is not None
    await server.startup()
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):  # the reset was a race: one in a few tries
                async with session.post(base + "/in", data=b"x" * 70_000) as answer:
                    assert answer.status == 413
                    assert answer.headers["Connection"] == "close"
                async with session.get(base + "/ok") as answer:
                    assert answer.status == 200
            async with session.post(base + "/in", data=b"x" * CAP) as answer:
                assert (answer.status, await answer.json()) == (200, {"read": CAP})
                assert answer.headers["Connection"] == "keep-alive"
    finally:
        server.close()
        await server.wait_closed()
