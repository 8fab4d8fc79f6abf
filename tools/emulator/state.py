"""The emulator's memory: sent messages (with long-poll), runtime knobs, the
account's numbers and services, tasks."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
from aiohttp import web

from tools.emulator.config import EmulatorConfig
from tools.emulator.inventory import Inventory
from tools.emulator.resources import StoredMessage

logger = logging.getLogger(__name__)

MAX_WAIT_S = 30.0


class MessageLog:
    """Outbound messages in send order. Indexes keep growing across `clear()`, so a
    poller's `after` never skips a message sent after the clear."""

    def __init__(self) -> None:
        self._by_sid: dict[str, StoredMessage] = {}
        self._last_index = 0
        self._changed = asyncio.Event()

    @property
    def last_index(self) -> int:
        return self._last_index

    def next_index(self) -> int:
        self._last_index += 1
        return self._last_index

    def add(self, msg: StoredMessage) -> None:
        self._by_sid[msg.sid] = msg
        self._wake()

    def get(self, sid: str) -> StoredMessage | None:
        return self._by_sid.get(sid)

    def update(self, sid: str, **changes: Any) -> StoredMessage | None:
        """None when the message was cleared meanwhile (its lifecycle then stops)."""
        current = self._by_sid.get(sid)
        if current is None:
            return None
        self._by_sid[sid] = updated = replace(current, **changes)
        return updated

    def clear(self) -> None:
        self._by_sid.clear()

    def newest_first(self) -> list[StoredMessage]:
        return sorted(self._by_sid.values(), key=lambda m: m.index, reverse=True)

    def wake_all(self) -> None:
        """Let long-polls return at once (shutdown)."""
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def select(self, to: str | None, after: int) -> list[StoredMessage]:
        return [
            msg
            for msg in sorted(self._by_sid.values(), key=lambda m: m.index)
            if msg.index > after and (to is None or msg.to == to)
        ]

    async def wait_for(
        self, to: str | None, after: int, wait_s: float, closing: asyncio.Event
    ) -> list[StoredMessage]:
        """Messages after `after` (to `to`), waiting up to `wait_s` for a first one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(wait_s, 0.0), MAX_WAIT_S)
        while True:
            found = self.select(to, after)
            remaining = deadline - loop.time()
            if found or remaining <= 0 or closing.is_set():
                return found
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass


@dataclass
class RuntimeSettings:
    """The knobs tests turn while the emulator runs (`POST /_emulator/config`)."""

    latency_ms: int
    failures: dict[str, float]
    status_delay_ms: int
    ambiguous_500_sends: bool
    undeliverable: set[str]
    webhook_url: str | None
    signing_url: str | None
    opt_out_tracking: bool
    force: deque[str] = field(default_factory=deque)
    #: Every send is refused with 20429 until this `time.monotonic()` (an outage
    #: or a rate-limit storm of a known length).
    refuse_until: float = 0.0

    def refusing_ms(self) -> int:
        """Milliseconds sends are still refused for (0: not refusing)."""
        return max(0, round((self.refuse_until - time.monotonic()) * 1000))

    @classmethod
    def from_config(cls, config: EmulatorConfig) -> RuntimeSettings:
        return cls(
            latency_ms=config.latency_ms,
            failures=dict(config.failures),
            status_delay_ms=config.status_delay_ms,
            ambiguous_500_sends=config.ambiguous_500_sends,
            undeliverable=set(config.undeliverable),
            webhook_url=config.webhook_url,
            signing_url=config.signing_url,
            opt_out_tracking=config.opt_out_tracking,
        )


class EmulatorState:
    """Shared by every route of one emulator app."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.settings = RuntimeSettings.from_config(config)
        self.rng = random.Random(config.seed)
        self.log = MessageLog()
        # The account's numbers and services (what its read-only routes show).
        self.inventory = Inventory.from_config(config)
        # (customer, business number) pairs after the customer texted STOP.
        self.opt_outs: set[tuple[str, str]] = set()
        # Sticky sender for Messaging Service sends: last number the customer texted.
        self.last_texted: dict[str, str] = {}
        self.closing = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("emulator HTTP session used outside the app's lifetime")
        return self._session

    def next_outcome(self) -> str:
        """`"ok"` or a failure code: the force queue first, else one seeded draw."""
        if self.settings.force:
            return self.settings.force.popleft()
        draw, cumulative = self.rng.random(), 0.0
        for code, p in self.settings.failures.items():
            cumulative += p
            if draw < cumulative:
                return code
        return "ok"

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Keep a reference (asyncio holds weak ones) and log a crash."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("task %s crashed", task.get_name(), exc_info=task.exception())

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Wake long-polls and cancel lifecycles, so shutdown does not wait on them."""
        self.closing.set()
        self.log.wake_all()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        """After in-flight requests finished: an inbound POST may still use the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


STATE: web.AppKey[EmulatorState] = web.AppKey("emulator", EmulatorState)
