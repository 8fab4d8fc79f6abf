"""Calling the running assistant's business API from a terminal (make send,
make send-reminders): where it is and which key to use, from the environment.

BUSINESS_API_URL (default http://127.0.0.1:$RASA_PORT, 5005) and SMS_API_KEY,
else the first key of SMS_API_KEYS (what the server was started with).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import aiohttp

from api.keys import ApiKeys, KeysError

OUTBOUND = "/sms/outbound"


class NoKey(Exception):
    """No API key in the environment to call the server with."""


def base_url(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return (
        env.get("BUSINESS_API_URL")
        or f"http://127.0.0.1:{env.get('RASA_PORT') or 5005}"
    ).rstrip("/")


def api_key(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    if env.get("SMS_API_KEY"):
        return env["SMS_API_KEY"]
    try:
        keys = ApiKeys.from_env(env)
    except KeysError as err:
        raise NoKey(str(err)) from None
    if not keys:
        raise NoKey(
            "set SMS_API_KEY (or SMS_API_KEYS, as the server has it) to one of "
            "the server's API keys"
        )
    return next(iter(keys.by_name.values()))


class BusinessApiClient:
    def __init__(self, url: str, key: str, timeout: float = 60.0) -> None:
        self.url = url
        self.key = key
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout)
        )

    async def close(self) -> None:
        await self.session.close()

    async def post(
        self, path: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], float | None]:
        """(status, JSON body, Retry-After)."""
        async with self.session.post(
            self.url + path, json=body, headers={"X-API-Key": self.key}
        ) as answer:
            try:
                data = await answer.json(content_type=None)
            except ValueError:
                data = {"error": "not_json", "detail": (await answer.text())[:200]}
            wait = answer.headers.get("Retry-After")
            return answer.status, data or {}, float(wait) if wait else None
