"""The stores' Redis connection: endpoints.yml keys in, a `redis.asyncio` client out.

Rasa builds a tracker store before (and sometimes outside) the event loop that later
uses it, and an asyncio client is bound to the loop of its first command. So the
settings are checked once at construction and a client is made per running loop, on
first use. Never the blocking `redis.Redis`: it would stall every other turn.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis

from connectors import log_privacy

DEFAULT_SOCKET_TIMEOUT = 5.0
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _to_int(key: str, value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: expected an integer, got {value!r}") from None


def seconds(key: str, value: Any) -> float | None:
    """A positive duration from endpoints.yml, None when left out."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{key}: expected a number of seconds, got {value!r}"
        ) from None
    if number <= 0:
        raise ValueError(f"{key}: expected a positive number of seconds, got {value!r}")
    return number


def to_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{key}: expected true or false, got {value!r}")


@dataclass(frozen=True)
class RedisSettings:
    """Connection settings, converted once: `${VAR}` values in endpoints.yml are strings.

    A bad value fails start-up with its key rather than on the first turn.
    """

    host: str = "localhost"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_ssl: bool = False
    ssl_keyfile: str | None = None
    ssl_certfile: str | None = None
    ssl_ca_certs: str | None = None
    socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT

    @classmethod
    def from_endpoint(
        cls,
        host: str | None = None,
        port: Any = 6379,
        db: Any = 0,
        username: str | None = None,
        password: str | None = None,
        use_ssl: Any = False,
        ssl_keyfile: str | None = None,
        ssl_certfile: str | None = None,
        ssl_ca_certs: str | None = None,
        socket_timeout: Any = DEFAULT_SOCKET_TIMEOUT,
    ) -> RedisSettings:
        """The keys Rasa's RedisTrackerStore takes, so a `type: redis` block carries over.

        `host` may also be a `redis://` or `rediss://` URL; then the URL's port, db and
        TLS win (`db` only fills in a URL without a path).
        """
        log_privacy.install()
        log_privacy.register_secret(password)
        if host and "://" in str(host):
            log_privacy.register_secret(urlsplit(str(host)).password)
        return cls(
            host=str(host or "localhost"),
            port=_to_int("port", port),
            db=_to_int("db", db),
            username=username or None,
            password=password or None,
            use_ssl=to_bool("use_ssl", use_ssl),
            ssl_keyfile=ssl_keyfile,
            ssl_certfile=ssl_certfile,
            ssl_ca_certs=ssl_ca_certs,
            socket_timeout=seconds("socket_timeout", socket_timeout),
        )

    def client(self) -> Redis:
        """A new client; each command fails after `socket_timeout` instead of hanging."""
        common: dict[str, Any] = {
            "username": self.username,
            "password": self.password,
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_timeout,
            "decode_responses": True,
        }
        if "://" in self.host:
            return Redis.from_url(self.host, db=self.db, **common)
        return Redis(
            host=self.host,
            port=self.port,
            db=self.db,
            ssl=self.use_ssl,
            ssl_keyfile=self.ssl_keyfile,
            ssl_certfile=self.ssl_certfile,
            ssl_ca_certs=self.ssl_ca_certs,
            **common,
        )


class LoopLocalRedis:
    """One client per event loop, made inside the loop that uses it.

    Keyed weakly by the loop, so a closed loop (each pytest test has one) takes its
    client with it and a new loop never gets a client bound to a dead one.
    """

    def __init__(self, settings: RedisSettings) -> None:
        self.settings = settings
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self.settings.client()
            self._clients[loop] = client
        return client

    async def close(self) -> None:
        """Close this loop's client: asyncio clients have no async destructor."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()
