"""scripts/redis.sh, as `make run` starts Redis: its durability and memory settings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import redis as redis_sync  # test side only

from tools.harness.redis_server import free_port

ROOT = Path(__file__).parents[1]
SCRIPT = str(ROOT / "scripts" / "redis.sh")


def run(tmp_path: Path, command: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SCRIPT, command],
        env={**os.environ, "REDIS_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_defaults_fsync_every_second_and_cap_memory_without_eviction(
    tmp_path: Path,
) -> None:
    port = str(free_port())
    started = run(tmp_path, "start", REDIS_PORT=port)
    try:
        assert started.returncode == 0, started.stderr
        config = redis_sync.Redis(port=int(port), decode_responses=True)
        assert config.config_get("appendfsync") == {"appendfsync": "everysec"}
        assert config.config_get("maxmemory") == {"maxmemory": str(1024**3)}
        policy = config.config_get("maxmemory-policy")
        assert policy == {"maxmemory-policy": "noeviction"}
    finally:
        run(tmp_path, "stop", REDIS_PORT=port)


def test_settings_change_them(tmp_path: Path) -> None:
    port = str(free_port())
    started = run(
        tmp_path,
        "start",
        REDIS_PORT=port,
        REDIS_APPENDFSYNC="always",
        REDIS_MAXMEMORY="64mb",
    )
    try:
        assert started.returncode == 0, started.stderr
        config = redis_sync.Redis(port=int(port), decode_responses=True)
        assert config.config_get("appendfsync") == {"appendfsync": "always"}
        assert config.config_get("maxmemory") == {"maxmemory": str(64 * 1024**2)}
    finally:
        run(tmp_path, "stop", REDIS_PORT=port)


def test_bad_settings_stop_before_anything_starts(tmp_path: Path) -> None:
    port = str(free_port())
    for env, message in (
        ({"REDIS_APPENDFSYNC": "sometimes"}, "REDIS_APPENDFSYNC"),
        ({"REDIS_MAXMEMORY": "lots"}, "REDIS_MAXMEMORY"),
    ):
        done = run(tmp_path, "start", REDIS_PORT=port, **env)
        assert done.returncode == 2 and message in done.stderr, done
    assert not (tmp_path / "redis.pid").exists()
