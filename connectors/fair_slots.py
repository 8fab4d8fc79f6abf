"""How many turns one process runs at once, handed out first come, first served.

asyncio.Semaphore on Python 3.10 is not first come, first served: a released slot
goes to whichever task asks next in the same loop iteration, and the waiter that
was woken for it finds none and queues again at the back. Under load, with new
conversations asking all the time, one conversation can be sent to the back again
and again (the "some wait 10x longer" of issue 13). Here a released slot is
handed to the oldest waiter directly, and `waiting` lets a conversation that
still has texts give way after each one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class FairSlots:
    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self._free = slots
        self._waiters: deque[asyncio.Future[None]] = deque()

    def waiting(self) -> int:
        """Tasks waiting for a slot now."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    async def acquire(self) -> None:
        """A slot: at once if one is free and nobody waits, else in turn."""
        if self._free > 0 and not self.waiting():
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over as we were cancelled: pass it on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Hand the slot to the oldest waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
