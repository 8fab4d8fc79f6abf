"""One error shape for every business API route: `{"error": code, "detail": text}`."""

from __future__ import annotations

from collections.abc import Mapping

from sanic import response
from sanic.response import HTTPResponse


class ApiError(Exception):
    """What to answer instead; raised anywhere below a route, turned into JSON."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
        **extra: object,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, object]:
        return {"error": self.code, "detail": self.detail, **self.extra}

    def response(self) -> HTTPResponse:
        return response.json(self.body(), status=self.status, headers=self.headers)
