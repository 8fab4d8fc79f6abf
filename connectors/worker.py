"""The worker inside each Rasa server process: inbox entry -> turn -> SMS -> ack.

Supervised tasks per process: a reader woken by the `ready` stream, a sweeper
that takes over conversations whose worker died (their owner lease ran out), the
inactivity watcher (connectors/inactivity.py), and one drain task per conversation
being served. A conversation is drained by one
worker at a time, head first, so its texts are answered in the order they came.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from rasa.core.channels.channel import UserMessage
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from actions.formatting import Option, resolve_choice
from connectors import failures, redis_keys, suppression, turn_errors
from connectors.inactivity import Inactivity
from connectors.inbox import Entry, Inbox
from connectors.output import SmsOutput
from connectors.replies import Reply, ReplyStore
from connectors.sender import SendResult, TwilioSender
from connectors.settings import SmsSettings
from connectors.sms_text import shape_message, shape_turn
from stores.contacts import ContactStore

logger = logging.getLogger(__name__)

#: What a picture with no words says to the assistant: an intent trigger, so the
#: bot answers it like any other turn instead of the text being dropped.
MEDIA_ONLY_TEXT = "/send_media"
OPTIONS_TTL = 24 * 3600
STOP_TIMEOUT = 2.0  # seconds shutdown waits for the worker's cancelled tasks
FAILURES_KEEP_SECONDS = 7 * 24 * 3600  # an entry's failure count (redis_keys)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass
class Lease:
    """One drain's hold on a conversation. Its keeper renews it and, while a turn
    runs, tells the turn's record that the turn is alive."""

    customer: str
    token: str
    turn: str | None = None  # the MessageSid whose turn runs now
    lost: bool = False


class TurnRunningElsewhere(Exception):
    """Another worker runs this entry's turn and is alive: wait for its parts."""

    def __init__(self, retry_at: float) -> None:
        super().__init__(retry_at)
        self.retry_at = retry_at


class Conversations(Protocol):
    async def has_active_session(self, customer: str) -> bool: ...

    async def session_expired(self, customer: str) -> bool: ...

    async def start_session(self, customer: str, output: SmsOutput) -> None: ...

    async def record_inactivity_warning(self, customer: str, text: str) -> bool: ...

    async def replies_to(
        self, customer: str, message_sid: str
    ) -> list[tuple[str, list[dict[str, Any]]]] | None: ...


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
        self.consumer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_ms = int(settings.owner_lease_seconds * 1000)
        # A turn whose worker gave no sign of life for this long, and then again
        # for as long once that was noticed, is taken over (unless Rasa's tracker
        # has it: then it ran, and is not run again).
        self.stale_after = settings.owner_lease_seconds
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
                    customer = fields.get(b"customer") or fields.get("customer")
                    if customer:
                        self.schedule(
                            customer.decode()
                            if isinstance(customer, bytes)
                            else customer
                        )

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
            raw = await self.redis.lindex(redis_keys.queue(customer), 0)
            if raw is None:
                return None
            try:
                entry = Entry.from_json(raw)
            except (ValueError, KeyError, TypeError):
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
        self, lease: Lease, raw: bytes, entry: Entry
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
        self, customer: str, raw: bytes, entry: Entry, attempts: int
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
                error=error.decode() if isinstance(error, bytes) else str(error),
                entry=raw.decode() if isinstance(raw, bytes) else str(raw),
            )
            parts = shape_turn([shape_message(self.settings.failure_message)])
            notice = await self.replies.finish(customer, key, sms.to_number, parts)
        return await self._deliver(notice)

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
                reply = await self._reply_for(entry, lease)
            except TurnRunningElsewhere as running:
                return running.retry_at
            if reply is None:
                return None
        return await self._deliver(reply)

    async def _reply_for(self, entry: Entry, lease: Lease | None) -> Reply | None:
        """The entry's reply parts, stored before the first is sent; None: no turn."""
        sms = entry.sms
        token = lease.token if lease is not None else self.consumer
        if entry.kind == "help":
            return await self._store(entry, [shape_message(self.settings.help_message)])
        if (
            not self.settings.initiate_from_inbound
            and not await self.conversations.has_active_session(sms.from_number)
        ):
            logger.info(
                "%s: no active session, no turn (initiate_from_inbound off)",
                sms.message_sid,
            )
            return None
        if not await self.replies.begin(sms.from_number, sms.message_sid, token):
            reply = await self._started_before(entry, token)
            if reply is not None:
                return reply
        if lease is not None:
            lease.turn = sms.message_sid
        try:
            texts = await self._run_turn(entry)
        except BaseException:
            await self._abandon(entry, token)
            raise
        finally:
            if lease is not None:
                lease.turn = None
        return await self._store(entry, texts, token)

    async def _started_before(self, entry: Entry, token: str) -> Reply | None:
        """This entry's turn was started by another worker (or an earlier try).

        Never run a turn twice: if it ended, its parts (or Rasa's tracker) give
        the replies; if its worker is alive, wait for them. Only a turn whose
        worker stopped before Rasa saved it is run here (None).
        """
        sms = entry.sms
        customer, sid = sms.from_number, sms.message_sid
        record = await self.replies.get(customer, sid)
        if record is not None and record.parts is not None:
            return record
        done = await self.conversations.replies_to(customer, sid)
        if done is not None:
            logger.info("%s: its turn ran before, sending the replies it made", sid)
            texts = [shape_message(text, buttons) for text, buttons in done]
            return await self._store(entry, texts, token)
        if record is None:  # abandoned since: start it afresh
            if await self.replies.begin(customer, sid, token):
                return None
            raise TurnRunningElsewhere(time.time())
        silent = time.time() - record.alive_at
        if silent < self.stale_after or not await self.replies.take_over(
            record, token, self.stale_after
        ):
            logger.info("%s: its turn runs on another worker, waiting for it", sid)
            wait = self.settings.reclaim_after_seconds
            if silent < self.stale_after:
                wait = min(wait, self.stale_after - silent)
            raise TurnRunningElsewhere(time.time() + max(wait, 0.1))
        logger.warning(
            "%s: the worker running its turn gave no sign for %.0f s and the turn "
            "was not saved: running it here",
            sid,
            silent,
        )
        return None

    async def _abandon(self, entry: Entry, token: str) -> None:
        """A turn that failed or was cancelled before storing its parts: let the
        next attempt start it at once (Rasa's tracker tells if it had run)."""
        try:
            await asyncio.wait_for(
                self.replies.abandon(
                    entry.sms.from_number, entry.sms.message_sid, token
                ),
                1.0,
            )
        except Exception as err:  # the record then goes stale, and is taken over
            logger.warning("%s: could not release its turn: %r", entry.id, err)

    async def _store(self, entry: Entry, texts: list[str], token: str = "") -> Reply:
        parts = shape_turn(
            texts,
            max_length=self.settings.max_message_length,
            max_parts=self.settings.max_parts_per_turn,
        )
        sms = entry.sms
        return await self.replies.finish(
            sms.from_number, sms.message_sid, sms.to_number, parts, token
        )

    async def _run_turn(self, entry: Entry) -> list[str]:
        """One Rasa turn; its texts, with the failure message if the turn failed."""
        sms = entry.sms
        pair = sms.messaging_service_sid or sms.to_number
        output = SmsOutput()
        if (
            self.inactivity is not None
            and await self.inactivity.is_closed(sms.from_number)
            and not await self.conversations.session_expired(sms.from_number)
        ):
            # Closed for inactivity: a new session, greeting first. (Had Rasa's own
            # expiry passed, Rasa would start one itself.)
            await self.conversations.start_session(sms.from_number, output)
        text = await self._text_for_turn(sms.from_number, sms.body, bool(sms.media))
        message = UserMessage(
            text,
            output,
            sms.from_number,
            input_channel="twilio_sms",
            message_id=sms.message_sid,
            metadata={**sms.metadata(), **await self._contact(sms.from_number)},
        )
        failed = False
        with turn_errors.watching() as errors:
            try:
                await self.on_new_message(message)
            except RedisError:
                # The tracker or lock store is down: no turn happened. Keep the
                # entry queued; the sweeper retries once Redis answers again.
                raise
            except Exception:
                logger.exception("turn for %s failed", sms.message_sid)
                failed = True
        texts = list(output.texts)
        if failed or errors:
            texts.append(shape_message(self.settings.failure_message))
        await self._remember_options(sms.from_number, output.buttons)
        if self.inactivity is not None and self.inactivity.enabled:
            await self.inactivity.engaged(sms.from_number, sms.to_number, pair)
        return texts

    async def _deliver(self, reply: Reply) -> float | None:
        """Send the parts Twilio does not have yet, in order.

        None when the reply is done with (sent, or given up and on record); else
        when to try again. Retried: only parts Twilio certainly did not take
        (20429s, no connection, Redis down before the request). A part whose
        send ended without an answer (timeout, 5xx) may have arrived: it is not
        sent again but reported as `unknown`, and the next parts go on.
        """
        if reply.gave_up:
            return None
        now = time.time()
        if reply.retry_at is not None and reply.retry_at > now:
            return reply.retry_at
        parts = reply.parts or ()
        for index, part in enumerate(parts):
            result = await self.sender.send(
                reply.customer, reply.business, part, reply.part_id(index)
            )
            if result.retryable:
                return await self._not_taken(reply, index, result)
            if result.status in ("unknown", "failed"):  # reported once (_report)
                outcome = "unknown" if result.status == "unknown" else "undeliverable"
                await self._report(reply, index, outcome, _reason(result), result)
        return None

    async def _not_taken(
        self, reply: Reply, index: int, result: SendResult
    ) -> float | None:
        """Retry later with backoff, or, past the retry window, give up on record."""
        now = time.time()
        first = reply.first_failure_at or now
        parts = reply.parts or ()
        if now - first >= self.settings.reply_retry_seconds:
            reason = f"not taken for {now - first:.0f} s: {_reason(result)}"
            for later in range(index, len(parts)):
                await self._report(reply, later, "undeliverable", reason, result)
            await self.replies.give_up(reply)
            return None
        delay = retry_delay(
            reply.tries + 1, self.settings.reply_retry_max_interval_seconds
        )
        await self.replies.not_taken(reply, now, now + delay, _reason(result))
        logger.warning(
            "%s: part %d of %d not taken (%s), try %d again in %.1f s",
            reply.key,
            index + 1,
            len(parts),
            _reason(result),
            reply.tries + 1,
            delay,
        )
        return now + delay

    async def _report(
        self, reply: Reply, index: int, outcome: str, reason: str, result: SendResult
    ) -> None:
        """Log and record one part the customer did not (or may not) get, once.

        The log line names the reply (the inbound MessageSid), never the number
        or the text; the record (make failed-sends) names the conversation.
        """
        parts = len(reply.parts or ())
        if not await self.replies.first_report(reply, index):
            return
        logger.warning(
            "%s: part %d of %d %s: %s", reply.key, index + 1, parts, outcome, reason
        )
        try:
            await failures.failed_send(
                self.redis,
                customer=reply.customer,
                reply=reply.key,
                part=index + 1,
                parts=parts,
                outcome=outcome,
                reason=reason,
                error_code=result.error_code,
            )
        except RedisError as err:
            logger.error("%s: could not record the failed send: %s", reply.key, err)

    async def _contact(self, customer: str) -> dict[str, Any]:
        """The matched contact for the message metadata: action_session_start greets
        a known number by name. Auto-creation records every new number."""
        if self.contacts is None or not (
            self.settings.contact_matching or self.settings.auto_create_contacts
        ):
            return {}
        if self.settings.auto_create_contacts:
            contact, created = await self.contacts.create_if_missing(customer, "sms")
            if created:
                logger.info("new contact %s (auto_create_contacts)", customer)
        else:
            contact = await self.contacts.get(customer)
        if contact is None or not self.settings.contact_matching:
            return {}
        return {
            "contact": {
                "name": contact.name,
                "email": contact.email,
                "tags": list(contact.tags),
                "source": contact.source,
            }
        }

    async def _text_for_turn(self, customer: str, body: str, has_media: bool) -> str:
        """The text Rasa sees: the body, a numbered pick as its payload, or media."""
        if not body.strip():
            return MEDIA_ONLY_TEXT if has_media else body
        raw = await self.redis.get(redis_keys.options(customer))
        if raw:
            options = [
                Option(str(o["title"]), str(o["payload"])) for o in json.loads(raw)
            ]
            picked = resolve_choice(body, options)
            if picked is not None:
                return picked
        return body

    async def _remember_options(
        self, customer: str, buttons: list[dict[str, Any]]
    ) -> None:
        key = redis_keys.options(customer)
        options = [
            {"title": str(b["title"]), "payload": str(b.get("payload") or b["title"])}
            for b in buttons
        ]
        if options:
            await self.redis.set(key, json.dumps(options), ex=OPTIONS_TTL)
        else:
            await self.redis.delete(key)

    async def _send(
        self, customer: str, business_number: str, texts: list[str]
    ) -> None:
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


def retry_delay(tries: int, cap: float) -> float:
    """1 s, 2 s, 4 s... up to `cap`, jittered so that a storm's many retries spread."""
    delay = min(cap, 2.0 ** (tries - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def _reason(result: SendResult) -> str:
    if result.error_code is not None:
        return f"{result.error_code} {result.error_message or ''}".strip()
    return result.error_message or result.status
