"""Starting the servers under test as real child processes, one way for every suite."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]


def spawn(
    logs: Path, name: str, args: list[str], env: dict[str, str]
) -> subprocess.Popen:
    """Run `args` from the repo root in its own process group, output to logs/name.log.

    Its own group, so a test can signal the process and everything it started.
    """
    with (logs / f"{name}.log").open("a") as log:  # the child keeps its own copy
        return subprocess.Popen(  # noqa: S603 - the harness's own commands
            args,
            cwd=ROOT,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
