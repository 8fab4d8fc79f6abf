"""RedisTicketLockStore: one turn per conversation at a time, across replicas.

Rasa's RedisLockStore issues tickets by reading, changing and writing back one JSON
blob, so two replicas can draw the same ticket and run one conversation's turns at
once (RasaHQ/rasa#9213); its waiters poll once a second. Here every step is one Lua
script (redisio/lua/lock_ticket.lua), a waiter is woken by a pub/sub message when the
turn before it ends, and the holder's lease is renewed while its turn runs, so only a
dead replica's lock expires. Key layout and Rasa's callers: docs/stores.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
import weakref
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError

import redisio
from redisio import Connection, RedisSettings, scripts
from redisio import keys as redis_keys
from redisio.settings import seconds

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "lock"
DEFAULT_LEASE = 10.0  # seconds: how long a dead replica's turn blocks the queue
DEFAULT_WAIT = float(LOCK_LIFETIME)  # seconds in the queue before LockError (Rasa's 60)
FIRST_RECHECK = 0.05  # seconds: re-check back-off, in case a wake-up is missed ...
MAX_RECHECK = 0.25  # ... doubling up to this
SUBSCRIBE_WAIT = 1.0  # seconds to wait for SUBSCRIBE's reply before relying on rechecks
IDLE_KEYS_MS = 24 * 3600 * 1000  # a crashed queue's keys expire after a day unused
HELD, DROPPED = 1, -1
_KEY_PREFIX = re.compile(r"[A-Za-z0-9_.:-]+")


@dataclass(frozen=True)
class _Place:
    """One `lock()` call's place in a conversation's queue; the token tells it apart
    from a ticket of the same number issued after the queue emptied."""

    conversation_id: str
    token: str
    lease: float
    ticket: int = 0

    def __str__(self) -> str:
        return f"{self.conversation_id} ticket {self.ticket} (lease {self.lease:g} s)"


class _ReleaseListener:
    """One SUBSCRIBE per process while any of its turns waits; wakes those waiters.

    A release publishes the conversation id on one channel, and only when someone
    waits, so an uncontended turn publishes nothing and no connection idles here.
    """

    def __init__(self, redis: Connection, channel: str) -> None:
        self.redis = redis
        self.channel = channel
        self.waiters: dict[str, set[asyncio.Event]] = {}
        self.task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    @asynccontextmanager
    async def watch(self, conversation_id: str) -> AsyncIterator[asyncio.Event]:
        """Yield an event set on each release of this conversation.

        Returns once SUBSCRIBE is confirmed: a check after that cannot miss a release.
        """
        event = asyncio.Event()
        self.waiters.setdefault(conversation_id, set()).add(event)
        if self.task is None:
            self.subscribed = asyncio.Event()
            self.task = asyncio.create_task(self._listen(), name="lock-store-listener")
        try:
            with contextlib.suppress(asyncio.TimeoutError):  # then rechecks only
                await asyncio.wait_for(self.subscribed.wait(), SUBSCRIBE_WAIT)
            yield event
        finally:
            watchers = self.waiters[conversation_id]
            watchers.discard(event)
            if not watchers:
                del self.waiters[conversation_id]
            if not self.waiters and self.task is not None:
                task, self.task = self.task, None
                task.cancel()
                await asyncio.wait([task])

    async def _listen(self) -> None:
        """Read messages; on a Redis error, resubscribe after a pause (waiters re-check
        on their own meanwhile)."""
        pause = FIRST_RECHECK
        while True:
            pubsub = self.redis.subscriber().pubsub()
            try:
                await pubsub.subscribe(self.channel)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self.subscribed.set()
                        pause = FIRST_RECHECK
                    elif message["type"] == "message":
                        for event in self.waiters.get(message["data"], ()):
                            event.set()
            except Exception as error:  # the task must live: waiters count on it
                logger.warning("lock store: pub/sub failed (%s), resubscribing", error)
                self.subscribed.clear()
            finally:
                await asyncio.shield(pubsub.reset())
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)


class RedisTicketLockStore(LockStore):
    """Lock store for `endpoints.yml`: `type: stores.lock_store.RedisTicketLockStore`.

    Takes the keys of Rasa's `type: redis` lock store, plus `lock_lifetime` (the
    lease, seconds) and `wait_timeout` (seconds before a waiter gives up with
    LockError). Redis errors propagate as they are, not as LockError: the SMS worker
    keeps a text queued when Redis is down, but fails the turn on LockError.
    """

    def __init__(
        self, endpoint_config: EndpointConfig | None = None, **kwargs: Any
    ) -> None:
        """Rasa builds a custom lock store as `cls(endpoint_config=...)`.

        An unknown or malformed key stops start-up: a typo must not run a server.
        """
        options = dict(kwargs)
        if endpoint_config is not None:
            options = {"host": endpoint_config.url, **endpoint_config.kwargs, **options}
        self._configure(**options)
        self._listeners: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, _ReleaseListener
        ] = weakref.WeakKeyDictionary()
        super().__init__()

    def _configure(
        self,
        key_prefix: str | None = None,
        lock_lifetime: Any = None,
        wait_timeout: Any = None,
        db: Any = 1,
        **connection: Any,
    ) -> None:
        prefix = DEFAULT_KEY_PREFIX if key_prefix is None else str(key_prefix)
        if not _KEY_PREFIX.fullmatch(prefix):
            raise ValueError(
                f"key_prefix: letters, digits and _ . : - only, got {key_prefix!r}"
            )
        self.key_prefix = prefix
        self.lease = seconds("lock_lifetime", lock_lifetime) or DEFAULT_LEASE
        self.wait_timeout = seconds("wait_timeout", wait_timeout) or DEFAULT_WAIT
        try:
            settings = RedisSettings.from_endpoint(db=db, **connection)
        except TypeError as error:  # an unknown key
            raise ValueError(f"lock_store: {error}") from None
        self.redis = Connection(settings)

    def keys(self, conversation_id: str) -> list[str]:
        """next, serving, lease, tickets: one hash tag, so one cluster slot."""
        return redis_keys.lock_keys(self.key_prefix, conversation_id)

    @property
    def channel(self) -> str:
        """Pub/sub channel of releases that have a waiter; the message is the id."""
        return redis_keys.lock_released(self.key_prefix)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float | None = None,
        wait_time_in_seconds: float | None = None,
        *,
        wait_timeout: float | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's turn; LockError after `wait_timeout` in the queue.

        `lock_lifetime`: the lease in seconds (default: the store's); it is renewed
        every third of it while the block runs, so a long turn keeps the lock.
        `wait_time_in_seconds`: Rasa's poll interval; here only the longest pause
        between safety re-checks when no release message comes (default 0.25 s).
        """
        place = _Place(
            conversation_id,
            uuid.uuid4().hex,
            seconds("lock_lifetime", lock_lifetime) or self.lease,
        )
        timeout = seconds("wait_timeout", wait_timeout) or self.wait_timeout
        recheck = seconds("wait_time_in_seconds", wait_time_in_seconds) or MAX_RECHECK
        try:
            ticket, state, _ = await self._run("issue", place)
            place = replace(place, ticket=ticket)
            if state != HELD:
                await self._wait_turn(place, timeout, recheck)
            renewal = asyncio.create_task(
                self._renew(place), name=f"lock-renewal:{conversation_id}"
            )
            try:
                expires = time.time() + place.lease
                yield TicketLock(conversation_id, deque([Ticket(ticket, expires)]))
            finally:
                renewal.cancel()
                await asyncio.wait([renewal])
        finally:
            if place.ticket:
                # Shielded: a turn cancelled mid-way still hands the lock on.
                await asyncio.shield(self._release(place))

    async def close(self) -> None:
        """End of a test or tool: close this loop's Redis clients, which redisio
        owns and other parts may share (Rasa never closes a lock store)."""
        await redisio.close_all()

    async def _run(self, op: str, place: _Place) -> tuple[int, int, int]:
        """One atomic step: returns (ticket, state, serving ticket)."""
        ticket, state, serving = await scripts.LOCK_TICKET(
            self.redis.get(),
            self.keys(place.conversation_id),
            [op, place.ticket, place.token, int(place.lease * 1000), IDLE_KEYS_MS]
            + [self.channel, place.conversation_id],
        )
        return int(ticket), int(state), int(serving)

    async def _wait_turn(self, place: _Place, timeout: float, recheck: float) -> None:
        """Check on each release message, else after 50 ms growing to `recheck`.

        A check also moves the queue on when the serving ticket's lease ran out.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pause = min(FIRST_RECHECK, recheck)
        async with self._listener().watch(place.conversation_id) as released:
            while True:
                released.clear()
                _, state, serving = await self._run("check", place)
                if state == HELD:
                    return
                if state == DROPPED:
                    raise LockError(
                        f"Ticket {place.ticket} of conversation_id "
                        f"'{place.conversation_id}' was dropped: its lease ran out "
                        "before it took its turn."
                    )
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise LockError(
                        "Could not acquire lock for conversation_id "
                        f"'{place.conversation_id}' within {timeout:g} s "
                        f"({place.ticket - serving} turn(s) ahead)."
                    )
                try:
                    await asyncio.wait_for(released.wait(), min(pause, remaining))
                except asyncio.TimeoutError:
                    pause = min(pause * 2, recheck)

    def _listener(self) -> _ReleaseListener:
        loop = asyncio.get_running_loop()
        listener = self._listeners.get(loop)
        if listener is None:
            listener = _ReleaseListener(self.redis, self.channel)
            self._listeners[loop] = listener
        return listener

    async def _renew(self, place: _Place) -> None:
        """Extend the lease every third of it; a failed renewal leaves 2/3 to retry."""
        while True:
            await asyncio.sleep(place.lease / 3)
            try:
                _, state, _ = await self._run("renew", place)
            except RedisError as error:
                logger.warning("lock %s: renewal failed: %s", place, error)
                continue
            if state != HELD:
                logger.error(
                    "lock %s lost its lease (event loop blocked or Redis unreachable "
                    "that long); another turn may run now",
                    place,
                )
                return

    async def _release(self, place: _Place) -> None:
        """Serve the next ticket, or leave the queue. A Redis error is only logged:
        the lease then runs out and the queue moves on by itself."""
        try:
            await self._run("release", place)
        except RedisError as error:
            logger.error("lock %s: release failed, lease will expire: %s", place, error)
