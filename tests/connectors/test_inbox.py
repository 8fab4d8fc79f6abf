"""The inbox against a real Redis: one accept per MessageSid, opt-out words applied
atomically, one owner per conversation, entries kept until dropped."""

from __future__ import annotations

import asyncio
import secrets
import time

from redis.asyncio import Redis

from connectors import suppression
from connectors.inbound import InboundSms, Media
from connectors.inbox import Entry, Inbox, Outcome
from connectors.keywords import keyword
from connectors.settings import SmsSettings
from redisio import keys as redis_keys

CUSTOMER, BUSINESS = "+14155552671", "+15017122661"


def sms(body: str, sid: str | None = None, media: tuple[Media, ...] = ()) -> InboundSms:
    return InboundSms(
        message_sid=sid or "SM" + secrets.token_hex(16),
        account_sid="AC" + "1" * 32,
        from_number=CUSTOMER,
        to_number=BUSINESS,
        body=body,
        num_segments=1,
        media=media,
        messaging_service_sid=None,
    )


async def accept(inbox: Inbox, text: InboundSms) -> Outcome:
    return await inbox.accept(text, keyword(text.body))


async def test_five_concurrent_deliveries_of_one_sid_queue_once(redis: Redis) -> None:
    inbox = Inbox(redis, 3600)
    text = sms("hi")
    outcomes = await asyncio.gather(*(accept(inbox, text) for _ in range(5)))
    assert sorted(outcomes) == sorted([Outcome.QUEUED] + [Outcome.DUPLICATE] * 4)
    assert await redis.llen(redis_keys.queue(CUSTOMER)) == 1
    assert await redis.xlen(redis_keys.READY) == 1


async def test_entries_round_trip_with_media(redis: Redis) -> None:
    inbox = Inbox(redis, 3600)
    text = sms("", media=(Media("https://api.twilio.com/m/1", "image/jpeg"),))
    assert await accept(inbox, text) is Outcome.QUEUED
    raw, entry = await inbox.head(CUSTOMER)
    assert entry.kind == "message" and entry.sms == text
    assert Entry.from_json(raw) == entry


async def test_stop_then_text_then_start(redis: Redis) -> None:
    inbox = Inbox(redis, 3600)
    assert await accept(inbox, sms("STOP")) is Outcome.OPTED_OUT
    assert await suppression.is_suppressed(redis, CUSTOMER, BUSINESS)
    assert not await suppression.is_suppressed(redis, CUSTOMER, "+15017122662")
    assert await accept(inbox, sms("book a cleaning")) is Outcome.SUPPRESSED
    assert await accept(inbox, sms("help")) is Outcome.SUPPRESSED
    assert await accept(inbox, sms("yes")) is Outcome.OPTED_IN
    assert not await suppression.is_suppressed(redis, CUSTOMER, BUSINESS)
    assert await redis.llen(redis_keys.queue(CUSTOMER)) == 0
    history = await suppression.history(redis, CUSTOMER)
    assert len(history) == 2 and "opt_out" in history[0] and "opt_in" in history[1]


async def test_yes_from_a_subscribed_number_is_a_turn(redis: Redis) -> None:
    inbox = Inbox(redis, 3600)
    assert await accept(inbox, sms("YES")) is Outcome.QUEUED
    assert await accept(inbox, sms("START")) is Outcome.QUEUED
    assert await accept(inbox, sms("Help")) is Outcome.HELP
    kinds = [
        Entry.from_json(r).kind
        for r in await redis.lrange(redis_keys.queue(CUSTOMER), 0, -1)
    ]
    assert kinds == ["message", "message", "help"]


async def test_one_owner_at_a_time_and_release_reports_what_waits(redis: Redis) -> None:
    inbox = Inbox(redis, 3600)
    await accept(inbox, sms("one"))
    assert await inbox.acquire(CUSTOMER, "a", 5000)
    assert not await inbox.acquire(CUSTOMER, "b", 5000)
    assert not await inbox.renew(CUSTOMER, "b", 5000)
    assert await inbox.renew(CUSTOMER, "a", 5000)
    assert await inbox.release(CUSTOMER, "b") == 1  # not b's to release
    assert not await inbox.acquire(CUSTOMER, "b", 5000)
    assert await inbox.release(CUSTOMER, "a") == 1
    assert await inbox.acquire(CUSTOMER, "b", 5000)


async def test_an_expired_lease_lets_another_worker_in(redis: Redis) -> None:
    inbox = Inbox(redis, 3600)
    assert await inbox.acquire(CUSTOMER, "dead", 100)
    await asyncio.sleep(0.2)
    assert await inbox.acquire(CUSTOMER, "alive", 5000)


async def test_drop_head_removes_only_the_entry_it_was_given(redis: Redis) -> None:
    inbox = Inbox(redis, 3600)
    await accept(inbox, sms("one"))
    await accept(inbox, sms("two"))
    raw, first = await inbox.head(CUSTOMER)
    assert first.sms.body == "one"
    assert await inbox.drop_head(CUSTOMER, raw)
    assert not await inbox.drop_head(CUSTOMER, raw)  # already gone: no-op
    _, second = await inbox.head(CUSTOMER)
    assert second.sms.body == "two"


async def test_waiting_lists_conversations_with_old_work(redis: Redis) -> None:
    inbox = Inbox(redis, 3600)
    await accept(inbox, sms("one"))
    assert await inbox.waiting(older_than=0) == []
    assert await inbox.waiting(older_than=1e12) == [CUSTOMER]
    raw, _ = await inbox.head(CUSTOMER)
    await inbox.drop_head(CUSTOMER, raw)
    await inbox.forget_if_idle(CUSTOMER)
    assert await inbox.waiting(older_than=1e12) == []


async def test_a_text_accepted_while_the_worker_forgets_the_conversation_is_found(
    redis: Redis,
) -> None:
    """forget_if_idle racing accept, at every interleaving the event loop offers: a
    text that ends up queued is still in the work index, so the sweeper finds it
    even when its wake-up is lost (read by a drain task that was just ending)."""
    inbox = Inbox(redis, 3600)
    stranded = []
    for delay in range(8):
        await redis.delete(redis_keys.queue(CUSTOMER), redis_keys.WORK)
        # The worker just drained the queue; the conversation is still indexed.
        await redis.zadd(redis_keys.WORK, {CUSTOMER: time.time()})

        async def text_in(delay: int = delay) -> None:
            for _ in range(delay):
                await asyncio.sleep(0)
            await accept(inbox, sms("one more thing"))

        await asyncio.gather(inbox.forget_if_idle(CUSTOMER), text_in())
        queued = await redis.llen(redis_keys.queue(CUSTOMER))
        if queued and CUSTOMER not in await inbox.waiting(older_than=1e12):
            stranded.append(delay)
    assert stranded == []


async def test_a_replayed_start_or_stop_never_changes_opt_out_after_the_window(
    redis: Redis,
) -> None:
    """A validly signed webhook captured and posted again after the dedupe window
    (here 1 s): its START must not re-subscribe an opted-out number, its STOP must
    not silence one. New STOP and START texts still work."""
    inbox = Inbox(redis, 1)
    stop, start = sms("STOP"), sms("START")
    assert await accept(inbox, stop) is Outcome.OPTED_OUT
    assert await accept(inbox, start) is Outcome.OPTED_IN
    assert await accept(inbox, sms("stop")) is Outcome.OPTED_OUT
    await asyncio.sleep(1.2)  # the seen marks have expired
    assert await accept(inbox, start) is Outcome.DUPLICATE
    assert await suppression.is_suppressed(redis, CUSTOMER, BUSINESS)
    assert await accept(inbox, sms("unstop")) is Outcome.OPTED_IN
    assert await accept(inbox, stop) is Outcome.DUPLICATE
    assert not await suppression.is_suppressed(redis, CUSTOMER, BUSINESS)
    assert len(await suppression.history(redis, CUSTOMER)) == 4


async def test_a_replayed_yes_that_was_an_answer_does_not_opt_in_later(
    redis: Redis,
) -> None:
    inbox = Inbox(redis, 1)
    yes = sms("yes")
    assert await accept(inbox, yes) is Outcome.QUEUED  # an answer to the bot
    assert await accept(inbox, sms("STOP")) is Outcome.OPTED_OUT
    await asyncio.sleep(1.2)
    assert await accept(inbox, yes) is Outcome.DUPLICATE
    assert await suppression.is_suppressed(redis, CUSTOMER, BUSINESS)


async def test_a_message_sid_is_remembered_for_30_days_by_default(
    redis: Redis,
) -> None:
    settings = SmsSettings.from_credentials(
        {
            "account_sid": "AC" + "1" * 32,
            "auth_token": "t",
            "public_url": "https://bot.example.com",
            "numbers": BUSINESS,
        }
    )
    inbox = Inbox(redis, settings.dedupe_hours * 3600)
    text = sms("hi")
    await accept(inbox, text)
    ttl = await redis.ttl(redis_keys.seen(CUSTOMER, text.message_sid))
    assert 29 * 86400 < ttl <= 30 * 86400
