"""Watching processes stop: which are still alive, and where a stuck one is stuck.

A stop that takes too long is only fixable with the stack of the process that hung,
so every harness that signals servers takes py-spy dumps before it kills anything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parents[2]
PY_SPY = ROOT / ".venv" / "bin" / "py-spy"


def _processes() -> Iterator[tuple[int, str, int, int]]:
    """(pid, state, parent pid, process group) of every process in /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield int(entry.name), fields[0], int(fields[1]), int(fields[2])


def group_members(pgid: int) -> list[int]:
    """Every live process whose process group is `pgid`."""
    return sorted(
        pid for pid, state, _, group in _processes() if group == pgid and state != "Z"
    )


def descendants(pid: int) -> list[int]:
    """`pid` and every live process below it, whatever process group each is in."""
    children: dict[int, list[int]] = {}
    for child, state, parent, _ in _processes():
        if state != "Z":
            children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        if is_alive(current):
            found.append(current)
        todo.extend(children.get(current, []))
    return sorted(found)


def is_alive(pid: int) -> bool:
    """Running and not a zombie (a zombie has exited; only its parent's wait is due)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def wait_gone(pids: list[int], timeout: float) -> tuple[float, list[int]]:
    """Seconds until every pid exited (or the timeout), and those still alive."""
    started = time.monotonic()
    alive = list(pids)
    while alive and time.monotonic() - started < timeout:
        time.sleep(0.05)
        alive = [pid for pid in alive if is_alive(pid)]
    return time.monotonic() - started, alive


def dump_stacks(pids: list[int]) -> str:
    """py-spy dump (Python and native frames) of each pid, as one report."""
    parts = []
    for pid in pids:
        parts.append(f"===== pid {pid}: {command_line(pid)}")
        if "python" not in command_line(pid) and "rasa" not in command_line(pid):
            parts.append("(not a Python process)")
            continue
        try:
            done = subprocess.run(  # noqa: S603 - py-spy of our own children
                [str(PY_SPY), "dump", "--pid", str(pid), "--native"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            parts.append(done.stdout + done.stderr)
        except (OSError, subprocess.TimeoutExpired) as err:
            parts.append(f"py-spy failed: {err!r}")
    return "\n".join(parts)


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
