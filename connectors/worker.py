"""The worker inside each Rasa server process: inbox entry -> turn -> SMS -> ack.

Supervised tasks per process: a reader woken by the `ready` stream, a sweeper
that takes over conversations whose worker died (their owner lease ran out) or
whose head entry waits for a retry, the inactivity watcher
(connectors/inactivity.py), and one drain task per conversation being served. A
conversation is drained by one worker at a time, head first, so its texts are
answered in the order they came.

An entry leaves the queue once its reply is done with: its turn runs once
(connectors/turns.py), its parts are stored and sent, each at most once
(connectors/delivery.py, sender.py). A reply Twilio did not take keeps the entry
at the head until a retry within the window; an entry whose processing keeps
failing is dead-lettered after `max_entry_attempts` and the customer told once.
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

from connectors import failures, suppression, turn_errors
from connectors.delivery import ReplyDelivery
from connectors.housekeeping import Housekeeping
from connectors.inactivity import Inactivity
from connectors.inbox import Entry, Inbox
from connectors.replies import ReplyStore
from connectors.sender import TwilioSender
from connectors.settings import SmsSettings
from connectors.sms_text import shape_message, shape_turn
from connectors.turns import (
    MEDIA_ONLY_TEXT,
    Conversations,
    Lease,
    OnNewMessage,
    TurnRunningElsewhere,
    Turns,
)
from redisio import keys as redis_keys
from stores.contacts import ContactStore

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 2.0  # seconds shutdown waits for the worker's cancelled tasks
HOUSEKEEPING_POLL_SECONDS = 600.0  # how often a replica asks for today's clean-up
FAILURES_KEEP_SECONDS = 7 * 24 * 3600  # an entry's failure count (redis_keys)

__all__ = ["Conversations", "MEDIA_ONLY_TEXT", "OnNewMessage", "SmsWorker"]


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
        self.inactivity = inactivity
        self.contacts = contacts
        self.redis = redis
        self.inbox = inbox
        self.sender = sender
        self.on_new_message = on_new_message
        self.conversations = conversations
        self.replies = ReplyStore(redis)
        self.turns = Turns(
            settings,
            redis,
            self.replies,
            on_new_message,
            conversations,
            inactivity,
            contacts,
        )
        self.delivery = ReplyDelivery(settings, redis, sender, self.replies)
        self.consumer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.housekeeping = (
            Housekeeping(redis, tracker_store, self.consumer)
            if tracker_store is not None
            else None
        )
        self.lease_ms = int(settings.owner_lease_seconds * 1000)
        self._read_block_ms = _read_block_ms(redis)
        self._slots = asyncio.Semaphore(settings.worker_concurrency)
        self._draining: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # --- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        turn_errors.install()
        await self._ensure_group()
        self._tasks = [
            asyncio.create_task(self._supervise(self._read), name="sms-reader"),
            asyncio.create_task(self._supervise(self._sweep), name="sms-sweeper"),
        ]
        if self.inactivity is not None and self.inactivity.enabled:
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

    async def _housekeep(self) -> None:
        """Daily clean-up (connectors/housekeeping.py); one replica per day runs it."""
        assert self.housekeeping is not None
        while not self._stopping:
            await self.housekeeping.tick()
            await asyncio.sleep(HOUSEKEEPING_POLL_SECONDS)

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
            await asyncio.sleep(1)

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
            await asyncio.sleep(self.settings.sweep_interval_seconds)

    async def _watch_inactivity(self) -> None:
        assert self.inactivity is not None
        while not self._stopping:
            now = time.time()
            for customer in await self.inactivity.due(redis_keys.INACTIVITY_WARN, now):
                if await self.inactivity.claim(
                    redis_keys.INACTIVITY_WARN, customer, now
                ):
                    await self._warn_idle(customer)
            for customer in await self.inactivity.due(redis_keys.INACTIVITY_CLOSE, now):
                if await self.inactivity.claim(
                    redis_keys.INACTIVITY_CLOSE, customer, now
                ):
                    await self.inactivity.closed(customer)
                    logger.info(
                        "%s: no reply to the inactivity warning, closed", customer
                    )
            await asyncio.sleep(self.settings.inactivity_poll_seconds)

    async def _warn_idle(self, customer: str) -> None:
        """One warning, from the number the customer texted, recorded in the tracker.

        Recorded as Rasa records a reminder (an external user event plus the bot's
        text), which also restarts Rasa's session clock: a reply within the grace
        period continues the same session, form and slots included.
        """
        assert self.inactivity is not None
        idle = await self.inactivity.get(customer)
        if idle is None:
            return
        if await suppression.is_suppressed(self.redis, customer, idle.pair):
            logger.info("%s opted out: no inactivity warning", customer)
            await self.inactivity.forget(customer)
            return
        text = self.settings.inactivity_warning_message
        if not await self.conversations.record_inactivity_warning(customer, text):
            logger.info(
                "%s: paused or no conversation, no inactivity warning", customer
            )
            await self.inactivity.forget(customer)
            return
        await self.inactivity.warned(customer)
        await self._send(customer, idle.business_number, [shape_message(text)])

    def schedule(self, customer: str) -> None:
        """One drain task per conversation in this process; a running one re-checks."""
        if customer in self._draining:
            return
        task = asyncio.create_task(self._drain(customer), name=f"sms-drain:{customer}")
        self._draining[customer] = task
        task.add_done_callback(lambda _t: self._draining.pop(customer, None))

    # --- one conversation ----------------------------------------------------

    async def _drain(self, customer: str) -> None:
        token = f"{self.consumer}:{uuid.uuid4().hex}"
        try:
            async with self._slots:
                while await self.inbox.acquire(customer, token, self.lease_ms):
                    await self.inbox.touch(customer)
                    lease = Lease(customer, token)
                    keeper = asyncio.create_task(self._keep_lease(lease))
                    try:
                        wait_until = await self._drain_owned(lease)
                    finally:
                        keeper.cancel()
                        remaining = await self.inbox.release(customer, token)
                    if wait_until is not None:
                        # The head waits for a retry: the sweeper comes back then.
                        await self.inbox.defer(
                            customer, wait_until - self.settings.reclaim_after_seconds
                        )
                        return
                    if remaining == 0:
                        await self.inbox.forget_if_idle(customer)
                        return
        except asyncio.CancelledError:
            raise
        except RedisError as err:
            logger.warning(
                "redis error while serving %s, will retry: %s", customer, err
            )
        except Exception:
            logger.exception("serving %s failed; the entry stays queued", customer)

    async def _drain_owned(self, lease: Lease) -> float | None:
        """Serve the queue head first; None once it is empty (or the lease is
        lost: the conversation is someone else's), else the time the head is to
        be tried again (the texts behind it wait: replies in order)."""
        customer = lease.customer
        while not lease.lost:
            head = await self.inbox.head(customer)
            if head is None:
                return None
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
            wait_until = await self._process_or_give_up(lease, raw, entry)
            if wait_until is not None:
                return wait_until
            await self.inbox.drop_head(customer, raw)
        return None

    async def _process_or_give_up(
        self, lease: Lease, raw: str, entry: Entry
    ) -> float | None:
        """process(), counting its failures: after the last allowed one the entry
        is dead-lettered and the customer told once, so that one bad entry cannot
        stop their conversation for good. A Redis error is not the entry's fault:
        it propagates uncounted and the entry waits for Redis."""
        customer = lease.customer
        key = redis_keys.failures(customer, entry.id)
        limit = self.settings.max_entry_attempts
        failed = int(await self.redis.hget(key, "count") or 0)
        if failed < limit:
            try:
                return await self.process(entry, lease)
            except (RedisError, asyncio.CancelledError):
                raise
            except Exception as err:
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.hincrby(key, "count", 1)
                    pipe.hset(key, "error", f"{type(err).__name__}: {err}"[:500])
                    pipe.expire(key, FAILURES_KEEP_SECONDS)
                    failed = int((await pipe.execute())[0])
                if failed < limit:
                    logger.exception(
                        "%s: processing failed (attempt %d of %d), will retry",
                        entry.sms.message_sid,
                        failed,
                        limit,
                    )
                    return time.time() + self.settings.reclaim_after_seconds
                logger.exception(
                    "%s: processing failed %d times: dead letter, failure message",
                    entry.sms.message_sid,
                    failed,
                )
        return await self._give_up(customer, raw, entry, failed)

    async def _give_up(
        self, customer: str, raw: str, entry: Entry, attempts: int
    ) -> float | None:
        """Record the dead letter, then send the failure message (at most once)."""
        sms = entry.sms
        key = f"{sms.message_sid}:dead"
        notice = await self.replies.get(customer, key)
        if notice is None or notice.parts is None:
            error = await self.redis.hget(
                redis_keys.failures(customer, entry.id), "error"
            )
            await failures.dead_letter(
                self.redis,
                customer=customer,
                message_sid=sms.message_sid,
                entry_id=entry.id,
                attempts=attempts,
                error=str(error),
                entry=raw,
            )
            parts = shape_turn([shape_message(self.settings.failure_message)])
            notice = await self.replies.finish(customer, key, sms.to_number, parts)
        return await self.delivery.deliver(notice)

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
                    await self.replies.beat(lease.customer, lease.turn, lease.token)
                pause = interval
            except RedisError as err:
                logger.warning(
                    "renewing the lease on %s failed, retrying: %s", lease.customer, err
                )
                pause = interval / 4

    async def process(self, entry: Entry, lease: Lease | None = None) -> float | None:
        """Run the entry's turn once and send its replies.

        None when done with the entry. Else the time to try again: a part was not
        taken by Twilio and nothing may be sent after it (order), so the entry
        stays at the head. The turn itself is never run again for that: its parts
        are in the reply record.
        """
        sms = entry.sms
        pair = sms.messaging_service_sid or sms.to_number
        if await suppression.is_suppressed(self.redis, sms.from_number, pair):
            logger.info("%s: sender opted out after it was queued", sms.message_sid)
            return None
        reply = await self.replies.get(sms.from_number, sms.message_sid)
        if reply is None or reply.parts is None:
            try:
                reply = await self.turns.reply_for(
                    entry, lease or Lease(sms.from_number, self.consumer)
                )
            except TurnRunningElsewhere as running:
                return running.retry_at
            if reply is None:
                return None
        return await self.delivery.deliver(reply)

    async def _send(
        self, customer: str, business_number: str, texts: list[str]
    ) -> None:
        """Best effort, no reply record: the inactivity warning is at most once by
        design (inactivity.py), and the sender logs a send that failed."""
        parts = shape_turn(
            texts,
            max_length=self.settings.max_message_length,
            max_parts=self.settings.max_parts_per_turn,
        )
        for part in parts:
            await self.sender.send(customer, business_number, part)


def _read_block_ms(redis: Redis) -> int:
    """XREADGROUP's BLOCK, kept under the client's socket timeout (else every
    quiet read would end in a timeout error)."""
    timeout = redis.connection_pool.connection_kwargs.get("socket_timeout")
    if not timeout:
        return 2000
    return max(50, min(2000, int(timeout * 500)))
