"""The worker inside each Rasa server process: the loops, not the rules.

Supervised tasks per process: a reader woken by the `ready` stream, a sweeper
that takes over conversations whose worker died (their owner lease ran out) or
whose head entry waits for a retry, the inactivity watcher
(connectors/inactivity_watch.py), the daily housekeeping, and one drain task per
conversation being served. A conversation is drained by one worker at a time,
under a lease renewed while it works, head first, so its texts are answered in
the order they came.

What happens to the entry at the head is connectors/entries.py: its turn runs
once (turns.py, whose decisions are the pure turn_rules.py), its parts are
stored and sent, each at most once (delivery.py, sender.py). An entry leaves the
queue once its reply is done with; one whose reply Twilio did not take stays at
the head until a retry (the texts behind it wait: replies in order).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from connectors import turn_errors
from connectors.entries import EntryHandler
from connectors.fair_slots import FairSlots
from connectors.housekeeping import Housekeeping
from connectors.inactivity import Inactivity
from connectors.inactivity_watch import InactivityWatcher
from connectors.inbox import Inbox
from connectors.sender import TwilioSender
from connectors.settings import SmsSettings
from connectors.turns import Conversations, Lease, OnNewMessage
from redisio import keys as redis_keys
from redisio.client import socket_timeout
from stores.contacts import ContactStore

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 2.0  # seconds shutdown waits for the worker's cancelled tasks
HOUSEKEEPING_POLL_SECONDS = 600.0
#: XREADGROUP's BLOCK: well within STOP_TIMEOUT, since a read whose cancellation
#: redis-py swallowed runs to its end; an idle replica reads once a second.
READ_BLOCK_MS = 1000  # how often a replica asks for today's clean-up


class SmsWorker:
    def __init__(
        self,
        settings: SmsSettings,
        redis: Redis,
        inbox: Inbox,
        sender: TwilioSender,
        on_new_message: OnNewMessage,
        conversations: Conversations,
        inactivity: Inactivity | None = None,
        contacts: ContactStore | None = None,
        tracker_store: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.inbox = inbox
        self.consumer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.entries = EntryHandler(
            settings,
            redis,
            sender,
            on_new_message,
            conversations,
            inactivity,
            contacts,
            self.consumer,
        )
        self.inactivity = (
            InactivityWatcher(settings, redis, inactivity, conversations, sender)
            if inactivity is not None and inactivity.enabled and settings.enabled
            else None
        )
        self.housekeeping = (
            Housekeeping(redis, tracker_store, self.consumer)
            if tracker_store is not None
            else None
        )
        self.lease_ms = int(settings.owner_lease_seconds * 1000)
        self._read_block_ms = _read_block_ms(redis)
        self._slots = FairSlots(settings.worker_concurrency)
        self._draining: dict[str, asyncio.Task[None]] = {}
        # Conversations woken while their drain was finishing: served again.
        self._again: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._stopped = asyncio.Event()

    # --- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Start the loops. Redis down now is not fatal: the server comes up (its
        health route says what is down), and the reader creates its group when
        Redis answers (NOGROUP)."""
        turn_errors.install()
        try:
            await self._ensure_group()
        except RedisError as err:
            logger.warning("sms worker: redis unavailable at start: %s", err)
        self._tasks = [
            asyncio.create_task(self._supervise(self._read), name="sms-reader"),
            asyncio.create_task(self._supervise(self._sweep), name="sms-sweeper"),
        ]
        if self.inactivity is not None:
            self._tasks.append(
                asyncio.create_task(
                    self._supervise(self._watch_inactivity), name="sms-inactivity"
                )
            )
        if self.housekeeping is not None:
            self._tasks.append(
                asyncio.create_task(
                    self._supervise(self._housekeep), name="sms-housekeeping"
                )
            )

    async def stop(self) -> None:
        """Cancel everything: unfinished entries stay queued for the next worker.

        Bounded: the loops also check `_stopping`, so one whose cancellation got
        lost inside a client library still ends, and shutdown never waits forever.
        """
        self._stopping = True
        self._stopped.set()
        tasks = self._tasks + list(self._draining.values())
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
            if pending:
                logger.warning(
                    "%d sms worker task(s) still running after %g s: %s",
                    len(pending),
                    STOP_TIMEOUT,
                    sorted(t.get_name() for t in pending),
                )
        self._tasks, self._draining = [], {}

    async def _pause(self, seconds: float) -> None:
        """Sleep between rounds, but wake at stop(): redis-py can swallow a task's
        cancellation mid-command (the command then ends as a timeout or its
        result), and a plain sleep after that would outlast the stop budget."""
        try:
            await asyncio.wait_for(self._stopped.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    async def _housekeep(self) -> None:
        """Daily clean-up (connectors/housekeeping.py); one replica per day runs it."""
        assert self.housekeeping is not None
        while not self._stopping:
            await self.housekeeping.tick()
            await self._pause(HOUSEKEEPING_POLL_SECONDS)

    async def _ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(
                redis_keys.READY, redis_keys.READY_GROUP, id="$", mkstream=True
            )
        except ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise

    async def _supervise(self, loop: Callable[[], Awaitable[None]]) -> None:
        """Keep a loop alive through Redis outages and bugs; stop only on stop()."""
        while not self._stopping:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except ResponseError as err:
                if "NOGROUP" in str(err):
                    await self._ensure_group()
                    continue
                logger.exception("sms worker loop failed; restarting in 1 s")
            except RedisError as err:  # an outage: one line, not a traceback each
                if self._stopping:
                    return
                logger.warning("sms worker loop: redis: %s; restarting in 1 s", err)
            except Exception:
                if self._stopping:
                    return
                logger.exception("sms worker loop failed; restarting in 1 s")
            await self._pause(1)

    async def _read(self) -> None:
        while not self._stopping:
            found = await self.redis.xreadgroup(
                redis_keys.READY_GROUP,
                self.consumer,
                {redis_keys.READY: ">"},
                count=100,
                block=self._read_block_ms,
            )
            for _stream, entries in found or ():
                ids = [entry_id for entry_id, _ in entries]
                if ids:
                    await self.redis.xack(
                        redis_keys.READY, redis_keys.READY_GROUP, *ids
                    )
                for _id, fields in entries:
                    customer = fields.get("customer")
                    if customer:
                        self.schedule(customer)

    async def _sweep(self) -> None:
        while not self._stopping:
            cutoff = time.time() - self.settings.reclaim_after_seconds
            for customer in await self.inbox.waiting(cutoff):
                self.schedule(customer)
            await self._pause(self.settings.sweep_interval_seconds)

    async def _watch_inactivity(self) -> None:
        assert self.inactivity is not None
        while not self._stopping:
            await self.inactivity.tick()
            await self._pause(self.settings.inactivity_poll_seconds)

    def schedule(self, customer: str) -> None:
        """One drain task per conversation in this process. A text that comes
        while its conversation's drain is finishing (the queue looked empty, the
        lease is being let go) marks it to be served again, so that it is not left
        to the sweeper (`reclaim_after_seconds` later)."""
        if customer in self._draining:
            self._again.add(customer)
            return
        self._again.discard(customer)
        task = asyncio.create_task(self._drain(customer), name=f"sms-drain:{customer}")
        self._draining[customer] = task
        task.add_done_callback(lambda _t: self._drained(customer))

    def _drained(self, customer: str) -> None:
        self._draining.pop(customer, None)
        if customer in self._again and not self._stopping:
            self.schedule(customer)

    # --- one conversation ----------------------------------------------------

    async def _drain(self, customer: str) -> None:
        """Serve one conversation in turn with the others: a text, then, if other
        conversations wait for a slot, back to the end of the line (fair_slots)."""
        token = f"{self.consumer}:{uuid.uuid4().hex}"
        try:
            while True:
                async with self._slots:
                    gave_way = await self._serve(customer, token)
                if not gave_way:
                    return
        except asyncio.CancelledError:
            raise
        except RedisError as err:
            logger.warning(
                "redis error while serving %s, will retry: %s", customer, err
            )
        except Exception:
            logger.exception("serving %s failed; the entry stays queued", customer)

    async def _serve(self, customer: str, token: str) -> bool:
        """Hold the conversation and answer its texts, head first. True when it
        gave way to other conversations with texts of its own still queued."""
        while await self.inbox.acquire(customer, token, self.lease_ms):
            await self.inbox.touch(customer)
            lease = Lease(customer, token)
            keeper = asyncio.create_task(self._keep_lease(lease))
            try:
                wait_until, gave_way = await self._drain_owned(lease)
            finally:
                keeper.cancel()
                remaining = await self.inbox.release(customer, token)
            if wait_until is not None:
                # The head waits for a retry: the sweeper comes back then.
                await self.inbox.defer(
                    customer, wait_until - self.settings.reclaim_after_seconds
                )
                return False
            if remaining == 0:
                await self.inbox.forget_if_idle(customer)
                return False
            if gave_way:
                return True
        return False

    async def _drain_owned(self, lease: Lease) -> tuple[float | None, bool]:
        """Serve the queue head first, until it is empty, the lease is lost (the
        conversation is someone else's), the head waits for a retry (the time to
        come back: the texts behind it wait, replies in order), or other
        conversations wait for a slot (gave way: True)."""
        customer = lease.customer
        while not lease.lost:
            head = await self.inbox.head(customer)
            if head is None:
                return None, False
            raw, entry = head
            if entry is None:
                # Not the entry itself: it holds the customer's message text.
                logger.error(
                    "dropping unreadable inbox entry of %s (%d bytes)",
                    customer,
                    len(raw),
                )
                await self.inbox.drop_head(customer, raw)
                continue
            wait_until = await self.entries.process_or_give_up(lease, raw, entry)
            if wait_until is not None:
                return wait_until, False
            await self.inbox.drop_head(customer, raw)
            if self._slots.waiting():
                return None, True
        return None, False

    async def _keep_lease(self, lease: Lease) -> None:
        """A 30 s turn must not lose its conversation to another worker.

        Renewed every third of the lease; a Redis error (a timeout, a blip) is
        retried four times as often, so one failure cannot end the keeper and
        the lease only lapses if Redis stays unreachable for most of it. While a
        turn runs, its record is told the turn is alive, even after the lease
        was lost: the worker that takes the conversation then waits for this
        turn's replies instead of running it again.
        """
        interval = self.settings.owner_lease_seconds / 3
        pause = interval
        while True:
            await asyncio.sleep(pause)
            try:
                if not lease.lost and not await self.inbox.renew(
                    lease.customer, lease.token, self.lease_ms
                ):
                    lease.lost = True
                    logger.error(
                        "lost the lease on %s mid-turn (Redis unreachable or the "
                        "loop blocked for longer than the lease)",
                        lease.customer,
                    )
                if lease.turn is not None:
                    await self.entries.replies.beat(
                        lease.customer, lease.turn, lease.token
                    )
                pause = interval
            except RedisError as err:
                logger.warning(
                    "renewing the lease on %s failed, retrying: %s", lease.customer, err
                )
                pause = interval / 4


def _read_block_ms(redis: Redis) -> int:
    """XREADGROUP's BLOCK, kept under the client's socket timeout (else every
    quiet read would end in a timeout error)."""
    timeout = socket_timeout(redis)
    if not timeout:
        return READ_BLOCK_MS
    return max(50, min(READ_BLOCK_MS, int(timeout * 500)))
