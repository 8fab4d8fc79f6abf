"""The process Twilio talks to: the SMS routes, apart from the processes that run turns.

A Rasa server runs NLU, policies and the action round trip on its event loop, so a
webhook answered by that loop waits behind turns: p99 2.5 s at 50 phones
(bench/RESULTS.md), while Twilio gives up after 15 s and people see the delay as a
lost text. Here the webhook's whole job (signature, one Redis accept) has a process
and an event loop to itself, and the Rasa servers only run turns from the inbox.

Every other path is passed unchanged to the Rasa server (`--upstream`), so one port
still serves everything and Rasa's own credential checks (connectors/access.py) still
decide who may call its API. This is a small reverse proxy written here rather than
nginx: it needs the channel's settings and Redis to answer Twilio, and one Python
process is one thing less to install, supervise and stop within the stop budget.

    python -m connectors.ingress --port 5005 --upstream http://127.0.0.1:5006
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from rasa.shared.exceptions import RasaException
from sanic import Sanic, response
from sanic.compat import Header
from sanic.request import Request
from sanic.response import HTTPResponse
from yarl import URL

import redisio
from connectors import log_privacy
from connectors.settings import SettingsError, SmsSettings
from connectors.webhook import SmsWebhook

logger = logging.getLogger(__name__)

CHANNEL_KEY = "connectors.twilio_sms.TwilioSmsInput"
PREFIX = "/webhooks/twilio_sms"
#: Longest a proxied request may take: a REST channel turn or a model upload.
UPSTREAM_TIMEOUT = 120.0
HEALTH_TIMEOUT = 1.0  # seconds the health route waits for the Rasa server
GRACEFUL_SHUTDOWN_SECONDS = 1.0
CLOSE_TIMEOUT = 1.0
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
#: Headers that describe one connection, not the message (RFC 9110, 7.6.1), and
#: the ones aiohttp and Sanic set again for the next hop.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def end_to_end(headers: Any) -> Header:
    """The headers to pass on, repeated ones (Set-Cookie) kept."""
    kept = Header()
    for name, value in headers.items():
        if name.lower() not in HOP_BY_HOP:
            kept.add(name, value)
    return kept


def _failure(status: int, reason: str, message: str) -> HTTPResponse:
    body = {"status": "failure", "reason": reason, "message": message}
    return response.json(body, status=status)


@dataclass
class Upstream:
    """The Rasa server every path but Twilio's goes to."""

    base: str
    timeout: float = UPSTREAM_TIMEOUT
    session: aiohttp.ClientSession | None = None

    def open(self) -> None:
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            auto_decompress=False,  # the body goes on as it came, encoding and all
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def answers(self) -> bool:
        """Whether a Rasa server answers at all (its SMS health route, no token)."""
        if self.session is None:
            return False
        try:
            async with self.session.get(
                self.base.rstrip("/") + PREFIX + "/",
                timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT),
            ) as answer:
                return answer.status < 500
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def forward(self, request: Request) -> HTTPResponse:
        if self.session is None:
            return _failure(503, "Starting", "the server is starting")
        target = self.base.rstrip("/") + request.path
        if request.query_string:
            target += "?" + request.query_string
        headers = end_to_end(request.headers)
        headers["X-Forwarded-For"] = request.ip or ""
        try:
            async with self.session.request(
                request.method,
                URL(target, encoded=True),
                headers=headers,
                data=request.body or None,
                allow_redirects=False,
            ) as answer:
                body = await answer.read()
                return HTTPResponse(
                    body,
                    status=answer.status,
                    headers=end_to_end(answer.headers),
                    content_type=answer.headers.get("content-type"),
                )
        except asyncio.TimeoutError:
            return _failure(504, "UpstreamTimeout", "the Rasa server did not answer")
        except aiohttp.ClientError as err:
            logger.warning("ingress: Rasa server unreachable: %s", type(err).__name__)
            return _failure(502, "UpstreamUnavailable", "the Rasa server is not up")


def build_app(
    settings: SmsSettings, upstream: Upstream, name: str = "sms_ingress"
) -> Sanic:
    """The ingress app: Twilio's routes served here, the rest forwarded."""
    app = Sanic(name)
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = GRACEFUL_SHUTDOWN_SECONDS
    webhook = SmsWebhook(settings)

    async def rasa_status() -> dict[str, Any]:
        # Texts are still taken while no Rasa server is up (they wait in Redis),
        # so this is reported and does not make the health check fail.
        return {"rasa": "ok" if await upstream.answers() else "unavailable"}

    webhook.health_details = rasa_status
    app.ctx.webhook = webhook
    app.ctx.upstream = upstream
    app.blueprint(webhook.routes(), url_prefix=PREFIX)

    async def forward(request: Request, path: str = "") -> HTTPResponse:
        # Twilio's prefix is answered here only: its health check with the
        # trailing slash (which the catch-all would otherwise take), else 404.
        if request.path == PREFIX + "/":
            return await webhook.health()
        if request.path.startswith(PREFIX + "/"):
            return _failure(404, "NotFound", "no such SMS route")
        return await upstream.forward(request)

    app.add_route(forward, "/", methods=METHODS, name="forward_root")
    app.add_route(forward, "/<path:path>", methods=METHODS, name="forward")

    async def opened(_app: Sanic, _loop: Any) -> None:
        webhook.open()
        upstream.open()

    async def closing(_app: Sanic, _loop: Any) -> None:
        tasks = [
            asyncio.ensure_future(step)
            for step in (upstream.close(), redisio.close_all())
        ]
        _done, pending = await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
        for task in pending:
            task.cancel()

    app.register_listener(opened, "after_server_start")
    app.register_listener(closing, "before_server_stop")
    return app


def load_settings(path: str) -> SmsSettings:
    """The channel's section of credentials.yml, `${VAR}` expanded as Rasa does."""
    from rasa.shared.utils.io import read_config_file  # light: no model, no TF

    section = read_config_file(path).get(CHANNEL_KEY)
    if not section:
        raise SettingsError(f"{path} has no {CHANNEL_KEY} section")
    return SmsSettings.from_credentials(section)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until SIGINT or SIGTERM; Sanic then stops within about a second."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5005)
    parser.add_argument("--upstream", default="http://127.0.0.1:5006")
    parser.add_argument("--credentials", default="credentials.yml")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)-8s %(name)s - %(message)s",
    )
    log_privacy.install()
    try:
        settings = load_settings(args.credentials)
    except (SettingsError, RasaException, OSError, ValueError) as err:
        raise SystemExit(f"error: {err}") from None
    app = build_app(settings, Upstream(args.upstream))
    logger.info(
        "ingress on %s:%d: Twilio's routes here, the rest to %s",
        args.host,
        args.port,
        args.upstream,
    )
    app.run(args.host, args.port, access_log=False, motd=False)


if __name__ == "__main__":
    main()
