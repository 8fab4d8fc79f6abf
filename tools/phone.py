"""Text the running assistant from a terminal, through the emulator and the real,
signed webhook path: `python -m tools.phone --emulator http://127.0.0.1:8099`.

Each stdin line is one SMS; replies sent to `--from` are printed as they arrive. With
piped stdin it waits `--linger` seconds after the last reply (or EOF) before exiting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import aiohttp

CONTROL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PhoneOptions:
    emulator: str
    from_: str
    to: str
    linger_s: float = 5.0
    poll_wait_s: float = 25.0


def segments_label(count: int) -> str:
    return "[1 segment]" if count == 1 else f"[{count} segments]"


def format_reply(message: dict[str, Any]) -> str:
    """`< body [n segments]`; a multi-line body keeps its lines, indented."""
    body = str(message.get("body", "")).replace("\n", "\n  ")
    return f"< {body} {segments_label(int(message.get('num_segments', 1)))}"


def format_delivery(result: dict[str, Any]) -> str | None:
    """An error line when the webhook did not take the text with a 200, else None."""
    if result.get("error"):
        return f"! webhook unreachable: {result['error']}"
    status = result.get("status")
    if status != 200:
        body = " ".join(str(result.get("response_body", "")).split())[:200]
        return f"! webhook answered {status}: {body}"
    return None


class Phone:
    """One handset: sends through `/_emulator/inbound`, reads `/_emulator/messages`."""

    def __init__(
        self, options: PhoneOptions, session: aiohttp.ClientSession, out: TextIO
    ) -> None:
        self.options = options
        self.session = session
        self.out = out
        self.base = options.emulator.rstrip("/")
        self.last_reply_at = 0.0

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    async def send(self, text: str) -> None:
        payload = {"from": self.options.from_, "to": self.options.to, "body": text}
        try:
            async with self.session.post(
                f"{self.base}/_emulator/inbound",
                json=payload,
                timeout=aiohttp.ClientTimeout(total=CONTROL_TIMEOUT_S),
            ) as response:
                result = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self.say(f"! emulator unreachable: {type(exc).__name__}: {exc}")
            return
        if response.status != 200:
            self.say(f"! emulator refused the text: {result.get('error', result)}")
        elif (line := format_delivery(result)) is not None:
            self.say(line)

    async def fetch(self, after: int, wait_s: float) -> dict[str, Any]:
        params = {"to": self.options.from_, "after": str(after), "wait": str(wait_s)}
        async with self.session.get(
            f"{self.base}/_emulator/messages",
            params=params,
            timeout=aiohttp.ClientTimeout(total=wait_s + CONTROL_TIMEOUT_S),
        ) as response:
            response.raise_for_status()
            return await response.json()

    async def poll_replies(self, cursor: int) -> None:
        """Long-poll forever; an outage is reported once and retried."""
        down = False
        while True:
            try:
                page = await self.fetch(cursor, self.options.poll_wait_s)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                if not down:
                    self.say(f"! emulator unreachable: {type(exc).__name__}: {exc}")
                down = True
                await asyncio.sleep(1.0)
                continue
            down = False
            for message in page["messages"]:
                self.say(format_reply(message))
                self.last_reply_at = asyncio.get_running_loop().time()
            cursor = int(page["next"])

    async def linger(self, eof_at: float) -> None:
        """Wait until no reply came for `linger_s` since EOF or the last reply."""
        loop = asyncio.get_running_loop()
        while True:
            idle_since = max(eof_at, self.last_reply_at)
            remaining = self.options.linger_s - (loop.time() - idle_since)
            if remaining <= 0:
                return
            await asyncio.sleep(remaining)


async def stdin_lines() -> AsyncIterator[str]:
    """Lines from stdin read on a daemon thread: works for ttys, pipes and files, and
    Ctrl-C never waits for a blocked read."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def put(item: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed first
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def read() -> None:
        while line := sys.stdin.readline():
            put(line)
        put(None)

    threading.Thread(target=read, name="phone-stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line.rstrip("\r\n")


async def run(options: PhoneOptions, out: TextIO = sys.stdout) -> int:
    async with aiohttp.ClientSession() as session:
        phone = Phone(options, session, out)
        try:
            cursor = int((await phone.fetch(0, 0))["next"])
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            phone.say(f"! emulator unreachable at {options.emulator}: {exc}")
            return 1
        interactive = sys.stdin.isatty()
        phone.say(
            f"Texting {options.to} as {options.from_}; type a message, Ctrl-D to quit"
        )
        poller = asyncio.create_task(phone.poll_replies(cursor), name="phone-poller")
        try:
            async for text in stdin_lines():
                if not text.strip():
                    continue
                if not interactive:
                    phone.say(f"> {text}")
                await phone.send(text)
            await phone.linger(asyncio.get_running_loop().time())
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
    return 0


def parse_args(argv: Sequence[str] | None = None) -> PhoneOptions:
    parser = argparse.ArgumentParser(
        prog="python -m tools.phone", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--emulator", default="http://127.0.0.1:8099")
    parser.add_argument("--from", dest="from_", default="+14155552671")
    parser.add_argument("--to", default="+15017122661", help="the business number")
    parser.add_argument("--linger", type=float, default=5.0, help="seconds after EOF")
    parser.add_argument("--poll-wait", type=float, default=25.0)
    args = parser.parse_args(argv)
    return PhoneOptions(args.emulator, args.from_, args.to, args.linger, args.poll_wait)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        return asyncio.run(run(options))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
