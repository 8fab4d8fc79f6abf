"""Where Redis is and how long to wait for it, parsed once for every caller.

The channel (`redis_url` in credentials.yml), the stores (endpoints.yml keys, as
Rasa's own `type: redis` store takes them), the action server and the tools all
describe the same server; each description becomes one frozen `RedisSettings`, so
equal descriptions compare equal and share one client (redisio/client.py). A bad
value fails start-up with its key rather than on the first turn.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio.connection import (
    SSLConnection,
    UnixDomainSocketConnection,
    parse_url,
)

from connectors import log_privacy

#: The project's own Redis (scripts/redis.sh): loopback, REDIS_PORT or 6390, db 0.
DEFAULT_PORT = 6390
DEFAULT_SOCKET_TIMEOUT = 5.0
#: A connection idle this long (seconds) is pinged before use, and a failed ping
#: reconnects (redisio/client.py): after a Redis restart or a NAT that dropped it,
#: the first command goes out on a fresh connection instead of failing. Short,
#: because a restart takes seconds; a busy connection is never idle this long.
HEALTH_CHECK_INTERVAL = 1
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def default_url() -> str:
    """`REDIS_URL`, else the project's own server: the one place it is spelled."""
    port = os.environ.get("REDIS_PORT") or DEFAULT_PORT
    return os.environ.get("REDIS_URL") or f"redis://127.0.0.1:{port}/0"


def cluster_default() -> bool:
    """`REDIS_CLUSTER`: the one place it is read. True makes every client a Redis
    Cluster client (redisio/client.py); unset or false keeps one server."""
    return to_bool("REDIS_CLUSTER", os.environ.get("REDIS_CLUSTER", ""))


def _to_int(key: str, value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: expected an integer, got {value!r}") from None


def seconds(key: str, value: Any) -> float | None:
    """A positive duration from a settings file, None when left out."""
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
    """A boolean from a settings file, where `${VAR}` values arrive as strings."""
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
    """One Redis server and database, or one Redis Cluster (`cluster`, db 0 only:
    `host`/`port` is any node of it), and the client's timeouts (no secret in repr)."""

    host: str = "localhost"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_ssl: bool = False
    ssl_keyfile: str | None = None
    ssl_certfile: str | None = None
    ssl_ca_certs: str | None = None
    ssl_cert_reqs: str | None = None
    unix_socket_path: str | None = None
    socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT
    cluster: bool = False

    def __post_init__(self) -> None:
        """A cluster has only db 0 and no Unix sockets: refuse at start-up, naming
        the setting, instead of failing on the first command."""
        if not self.cluster:
            return
        if self.db != 0:
            raise ValueError(
                f"db: a Redis Cluster (REDIS_CLUSTER=true) has only db 0, got db "
                f"{self.db}; set `db: 0` or end the URL with /0"
            )
        if self.unix_socket_path:
            raise ValueError(
                "REDIS_CLUSTER=true: a Redis Cluster is reached over TCP, "
                f"not the Unix socket {self.unix_socket_path!r}"
            )

    @classmethod
    def from_url(cls, url: str | None = None, **endpoint: Any) -> RedisSettings:
        """A `redis://`, `rediss://` or `unix://` URL (default: `default_url()`)."""
        url = url or default_url()
        if "://" not in url:
            raise ValueError(
                f"expected a redis://, rediss:// or unix:// URL, got {url!r}"
            )
        return cls.from_endpoint(host=url, **endpoint)

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
        ssl_cert_reqs: str | None = None,
        socket_timeout: Any = DEFAULT_SOCKET_TIMEOUT,
        cluster: Any = None,
    ) -> RedisSettings:
        """The keys Rasa's RedisTrackerStore takes, with its defaults (localhost:6379),
        so a `type: redis` block carries over.

        `host` may also be a URL; then the URL's host, port, db, credentials and TLS
        win (`db` only fills in a URL without a path). `cluster` left out means
        `REDIS_CLUSTER` (`cluster_default()`).
        """
        log_privacy.install()
        log_privacy.register_secret(password)
        values: dict[str, Any] = {
            "host": str(host or "localhost"),
            "port": _to_int("port", port),
            "db": _to_int("db", db),
            "username": username or None,
            "password": password or None,
            "use_ssl": to_bool("use_ssl", use_ssl),
            "ssl_keyfile": ssl_keyfile,
            "ssl_certfile": ssl_certfile,
            "ssl_ca_certs": ssl_ca_certs,
            "ssl_cert_reqs": ssl_cert_reqs,
            "socket_timeout": seconds("socket_timeout", socket_timeout),
            "cluster": cluster_default()
            if cluster is None
            else to_bool("cluster", cluster),
        }
        if "://" in values["host"]:
            values.update(_from_url(values["host"]))
            log_privacy.register_secret(values["password"])
        return cls(**values)

    def client_kwargs(self) -> dict[str, Any]:
        """What `redis.asyncio.Redis(...)` (or, for a cluster, `RedisCluster(...)`)
        takes: decoded strings, bounded waits."""
        common: dict[str, Any] = {
            "db": self.db,
            "username": self.username,
            "password": self.password,
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_timeout,
            "health_check_interval": HEALTH_CHECK_INTERVAL,
            "decode_responses": True,
        }
        if self.unix_socket_path:
            return {"unix_socket_path": self.unix_socket_path, **common}
        tls = {
            "ssl_keyfile": self.ssl_keyfile,
            "ssl_certfile": self.ssl_certfile,
            "ssl_ca_certs": self.ssl_ca_certs,
        }
        if self.ssl_cert_reqs:
            tls["ssl_cert_reqs"] = self.ssl_cert_reqs
        return {
            "host": self.host,
            "port": self.port,
            "ssl": self.use_ssl,
            **(tls if self.use_ssl else {}),
            **common,
        }

    def describe(self) -> str:
        """For log lines and errors: where, never who or with what password."""
        where = self.unix_socket_path or f"{self.host}:{self.port}"
        cluster = " (cluster)" if self.cluster else ""
        return f"{'rediss' if self.use_ssl else 'redis'}://{where}/{self.db}{cluster}"


def _from_url(url: str) -> dict[str, Any]:
    """redis-py's own URL parser, mapped onto our fields; unknown options refused."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"expected a redis://, rediss:// or unix:// URL, got {url!r}")
    try:
        parsed = dict(parse_url(url))
    except ValueError as error:
        raise ValueError(f"redis URL: {error}") from None
    connection_class = parsed.pop("connection_class", None)
    values: dict[str, Any] = {
        "host": parsed.pop("host", "127.0.0.1"),
        "port": parsed.pop("port", 6379),
        "use_ssl": connection_class is SSLConnection,
    }
    if connection_class is UnixDomainSocketConnection:
        values["unix_socket_path"] = parsed.pop("path")
    for key in ("db", "username", "password", "ssl_cert_reqs", "ssl_ca_certs"):
        if key in parsed:
            values[key] = parsed.pop(key)
    if "socket_timeout" in parsed:
        values["socket_timeout"] = seconds(
            "socket_timeout", parsed.pop("socket_timeout")
        )
    if parsed:
        raise ValueError(f"redis URL: unsupported option(s) {sorted(parsed)}")
    return values


if __name__ == "__main__":  # scripts/run.sh: the default URL, spelled here only
    print(default_url())
