"""A real 3-master Redis Cluster on free loopback ports, for `make test-cluster`.

Three `redis-server --cluster-enabled yes` processes (no persistence, config files
in a temp dir), joined by `redis-cli --cluster create --cluster-replicas 0`. It
answers like `RedisServer` (port, url, url_for, stop), so fixtures and SmsStack take
either; clients of it need `REDIS_CLUSTER=true` (redisio/settings.py).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis.cluster

from tools.harness.redis_server import free_port

MASTERS = 3


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: run `scripts/redis.sh install`")
    return found


class RedisClusterServer:
    """Three masters; `port` is the first, any node serves as the clients' seed."""

    cluster = True
    password: str | None = None

    def __init__(self, parent: Path | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="redis-cluster-", dir=parent))
        self.ports = [free_port() for _ in range(MASTERS)]
        self.processes: list[subprocess.Popen[bytes]] = []
        try:
            for port in self.ports:
                self.processes.append(self._node(port))
            self._create()
        except BaseException:
            self.stop()
            raise

    @property
    def port(self) -> int:
        return self.ports[0]

    def _node(self, port: int) -> subprocess.Popen[bytes]:
        """One master; the bus port is picked free too (port + 10000 may not be)."""
        node_dir = self.dir / str(port)
        node_dir.mkdir()
        return subprocess.Popen(  # noqa: S603 - redis-server from PATH
            [
                _binary("redis-server"),
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                str(free_port()),
                "--cluster-config-file",
                str(node_dir / "nodes.conf"),
                "--cluster-node-timeout",
                "5000",
                "--dir",
                str(node_dir),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _cli(self, port: int, *args: str) -> str:
        return subprocess.run(  # noqa: S603 - redis-cli from PATH
            [_binary("redis-cli"), "-h", "127.0.0.1", "-p", str(port), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout

    def _create(self) -> None:
        """Wait for the nodes, assign the slots, wait until every node says ok and
        knows the others (PUBLISH reaches only the nodes a node knows)."""
        self._wait(lambda port: self._cli(port, "ping").strip() == "PONG")
        created = subprocess.run(  # noqa: S603 - redis-cli from PATH
            [_binary("redis-cli"), "--cluster", "create"]
            + [f"127.0.0.1:{port}" for port in self.ports]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout}")

        def ready(port: int) -> bool:
            info = self._cli(port, "cluster", "info")
            return (
                "cluster_state:ok" in info and f"cluster_known_nodes:{MASTERS}" in info
            )

        self._wait(ready)

    def _wait(self, ready: Callable[[int], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.ports)
        while pending:
            pending = [port for port in pending if not ready(port)]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"Redis Cluster nodes {pending} not ready")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return self.url_for(0)

    def url_for(self, db: int) -> str:
        """Always db 0, whatever `db` asks for: a cluster has no other. Callers
        that keep two dbs apart on one server share db 0 here (prefixes differ)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class BlockingClusterClient(redis.cluster.RedisCluster):
    """For tests that look at what the servers stored: KEYS asks every master
    (redis-py sends it to one node only) and merges the answers."""

    def keys(self, pattern: Any = "*", **kwargs: Any) -> Any:
        return super().keys(pattern, target_nodes=self.PRIMARIES, **kwargs)
