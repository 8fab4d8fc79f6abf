"""A real redis-server on a free loopback port, for tests that claim Redis behaviour."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    cluster = False  # tools/harness/redis_cluster.py is the one that is

    def __init__(
        self,
        appendonly: bool = False,
        password: str | None = None,
        appendfsync: str = "everysec",
        parent: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="redis-test-", dir=parent))
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.password = password
        self._start()

    def _start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed: run `scripts/redis.sh install`"
            )
        self.process = subprocess.Popen(  # noqa: S603 - redis-server from PATH
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--appendfsync",
                self.appendfsync,
            ]
            + (["--requirepass", self.password] if self.password else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return self.url_for(0)

    def url_for(self, db: int) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def pause(self) -> None:
        """Stop the server, keeping its data directory: an outage, not a wipe."""
        self.process.terminate()
        self.process.wait(timeout=10)

    def resume(self) -> None:
        self._start()

    def stop(self) -> None:
        self.pause()
        shutil.rmtree(self.dir, ignore_errors=True)
