"""Who may call what on the Rasa server's port: one guard in front of every route.

The port is meant to face the internet (Twilio must reach it), but it also serves
Rasa's HTTP API and the REST channel, which read any conversation or speak as any
phone number. Rasa checks its API token only on the routes it decorates (never on
`/` or `/version`) and only if started with one; other channels check nothing. So
the channels install one request middleware that closes every route, unknown ones
too, unless the path belongs to a channel that checks its own requests (Twilio's
signature, the REST channel's secret) or the request carries Rasa's own credential:
`?token=<RASA_API_TOKEN>` or, when Rasa runs with `--jwt-secret`, a valid JWT.
The business API's routes (`/sms/…`, api/) and `/metrics` take one of its API
keys in the `X-API-Key` header (or as `Authorization: Bearer <key>`) instead,
checked here too, unknown paths under it included.
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
from collections.abc import Sequence
from inspect import isawaitable
from typing import Protocol

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors import log_privacy

logger = logging.getLogger(__name__)

TOKEN_ENV = "RASA_API_TOKEN"  # noqa: S105 - a variable name
MIN_SECRET_LENGTH = 16
API_KEY_HEADER = "X-API-Key"


def api_token(
    argv: Sequence[str] | None = None, environ: dict[str, str] | None = None
) -> str | None:
    """The token Rasa was started with (`--auth-token`), else RASA_API_TOKEN."""
    args = list(sys.argv if argv is None else argv)
    for index, arg in enumerate(args):
        if arg == "--auth-token" and index + 1 < len(args):
            return args[index + 1] or None
        if arg.startswith("--auth-token="):
            return arg.split("=", 1)[1] or None
    env = os.environ if environ is None else environ
    return env.get(TOKEN_ENV) or None


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time, so response timing does not leak how much of it matched."""
    if not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _denied(status: int, message: str) -> HTTPResponse:
    return response.json(
        {"status": "failure", "reason": "NotAuthenticated", "message": message},
        status=status,
    )


class KeyNames(Protocol):
    def name_of(self, given: str | None) -> str | None: ...


class Guard:
    """The app-wide request middleware; channels add the paths they check."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.self_checked: set[str] = set()
        self.keyed: dict[str, KeyNames] = {}
        self.public: set[str] = set()

    def allow(self, paths: set[str] | list[str]) -> None:
        """Exact paths anyone may GET: static pages that hold no data."""
        self.public |= set(paths)

    def require_key(self, prefix: str, keys: KeyNames) -> None:
        """Paths under `prefix` need one of `keys` in X-API-Key; the key's name
        is left in `request.ctx.api_key` for rate limits and logs."""
        self.keyed[prefix.rstrip("/") + "/"] = keys

    def _keys_for(self, path: str) -> KeyNames | None:
        for prefix, keys in self.keyed.items():
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                return keys
        return None

    @staticmethod
    def _check_key(request: Request, keys: KeyNames) -> HTTPResponse | None:
        given = request.headers.get(API_KEY_HEADER)
        bearer = request.headers.get("authorization") or ""
        if given is None and bearer[:7].lower() == "bearer ":
            # What Prometheus (`authorization:` in a scrape config) and most HTTP
            # tools send; the same keys.
            given = bearer[7:].strip()
        name = keys.name_of(given)
        if name is None:
            return response.json(
                {
                    "error": "unauthorized",
                    "detail": f"an API key is required in the {API_KEY_HEADER} "
                    "header (one of SMS_API_KEYS)",
                },
                status=401,
                headers={"WWW-Authenticate": API_KEY_HEADER},
            )
        request.ctx.api_key = name
        return None

    def open_prefix(self, prefix: str) -> None:
        self.self_checked.add(prefix.rstrip("/") + "/")

    def _self_checked(self, path: str) -> bool:
        return any(
            path.startswith(p) or path == p.rstrip("/") for p in self.self_checked
        )

    async def __call__(self, request: Request) -> HTTPResponse | None:
        if request.path in self.public and request.method in ("GET", "HEAD"):
            return None
        keys = self._keys_for(request.path)
        if keys is not None:
            return self._check_key(request, keys)
        if self._self_checked(request.path):
            return None
        if self.token is not None and same_secret(
            request.args.get("token"), self.token
        ):
            return None
        app = request.app
        if app.config.get("USE_JWT"):
            verdict = app.ctx.auth.is_authenticated(request)
            if isawaitable(verdict):
                verdict = await verdict
            if verdict:
                return None
        return _denied(401, "credentials required: ?token=<RASA_API_TOKEN> or a JWT")


def protect(app: Sanic, self_checked_prefix: str) -> Guard:
    """Install the guard once per app; `self_checked_prefix` is the caller's routes."""
    guard = getattr(app.ctx, "access_guard", None)
    if guard is None:
        guard = Guard(api_token())
        log_privacy.register_secret(guard.token)
        app.ctx.access_guard = guard
        app.register_middleware(guard, "request")
        api_on = app.name != "rasa_core_no_api"
        if api_on and guard.token is None and not app.config.get("USE_JWT"):
            logger.warning(
                "Rasa's HTTP API is enabled without a token: every API route answers "
                "401. Set %s (and pass it as --auth-token) to use it.",
                TOKEN_ENV,
            )
        elif api_on:
            logger.info("Rasa's HTTP API is on; every request needs the token")
        else:
            logger.info("Rasa's HTTP API is off (rasa run without --enable-api)")
    guard.open_prefix(self_checked_prefix)
    return guard
