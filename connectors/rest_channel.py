"""Rasa's REST channel, for local scripts and tests: off unless given a secret.

Whoever can POST to it speaks as any phone number ("cancel my appointment" as
+1<victim>), so it answers only requests that carry the shared secret in the
`X-Rest-Secret` header, and without a configured secret it serves no route at all.
It also tells the assistant which channel a message came from: a new conversation
has no earlier message to read it from, so action_session_start reads
`channel_type` from the message metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors import access, compat, log_privacy

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Rest-Secret"  # noqa: S105 - a header name


class RestSettingsError(ValueError):
    """A credentials.yml value the REST channel cannot work with."""


class RestChannel(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        raw = dict(credentials or {})
        unknown = sorted(set(raw) - {"secret"})
        if unknown:
            raise RestSettingsError(
                f"rest: unknown setting(s) {unknown}; known: secret"
            )
        secret = str(raw.get("secret") or "").strip()
        if secret and len(secret) < access.MIN_SECRET_LENGTH:
            raise RestSettingsError(
                f"rest.secret: use at least {access.MIN_SECRET_LENGTH} characters "
                "(e.g. `openssl rand -hex 24`), or leave it empty to turn REST off"
            )
        return cls(secret or None)

    def __init__(self, secret: str | None = None) -> None:
        log_privacy.install()
        log_privacy.register_secret(secret)
        self.secret = secret

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        if self.secret is None:
            logger.info(
                "REST channel off: set its secret (REST_CHANNEL_SECRET) to use it"
            )
            return Blueprint("rest_channel_off", __name__)
        bp = super().blueprint(on_new_message)
        prefix = f"/webhooks/{self.url_prefix()}/"

        @bp.listener("before_server_start")
        async def guard(app: Sanic, _loop: Any) -> None:
            access.protect(app, prefix)
            compat.check_action_responses_with_one_validator()
            compat.resolve_event_types_from_a_table()

        @bp.listener("after_server_start")
        async def no_silent_fallback(app: Sanic, _loop: Any) -> None:
            # A Redis error fails the request instead of a blank conversation.
            agent = compat.agent_of(app)
            compat.raise_tracker_store_errors(getattr(agent, "tracker_store", None))

        @bp.middleware("request")
        async def check_secret(request: Request) -> HTTPResponse | None:
            assert self.secret is not None
            if access.same_secret(request.headers.get(SECRET_HEADER), self.secret):
                return None
            return response.json(
                {"status": "failure", "message": f"{SECRET_HEADER} header required"},
                status=401,
            )

        return bp

    def get_metadata(self, request: Request) -> dict[str, Any]:
        sent = super().get_metadata(request)
        metadata = dict(sent) if isinstance(sent, dict) else {}
        metadata.setdefault("channel_type", "rest")
        return metadata
