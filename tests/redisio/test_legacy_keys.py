"""An upgrade keeps contacts and pending inactivity warnings stored under the names
the code used before the Redis Cluster work (real Redis)."""

from __future__ import annotations

from redis.asyncio import Redis

from redisio import keys
from redisio.legacy_keys import DONE, rename_legacy_keys
from stores.contacts import ContactStore

JANE = "+14155550100"
CONTACT = {
    "name": "Jane Doe",
    "created_at": "1.0",
    "updated_at": "1.0",
    "source": "csv",
}
SAM = "+14155550101"


async def seed_old_names(redis: Redis) -> None:
    """What the code before 88a8aeb wrote: contacts, the index, timers."""
    await redis.hset(f"contact:{{{JANE}}}", mapping=CONTACT)
    await redis.zadd("contacts", {JANE: 1.0})
    await redis.hset(f"sms:{{{SAM}}}:inactivity", mapping={"phase": "waiting"})
    await redis.expire(f"sms:{{{SAM}}}:inactivity", 3600)
    await redis.zadd("sms:inactivity:warn", {SAM: 2.0})
    await redis.zadd("sms:inactivity:close", {SAM: 3.0})


async def test_old_keys_move_to_their_new_names_once_with_their_ttl(
    redis: Redis,
) -> None:
    await seed_old_names(redis)
    result = await rename_legacy_keys(redis)
    assert result.moved == 5 and not result.kept_both
    assert await redis.hgetall(keys.contact(JANE)) == CONTACT
    assert await redis.zscore(keys.CONTACTS_INDEX, JANE) == 1.0
    assert await redis.hget(keys.inactivity(SAM), "phase") == "waiting"
    assert 3500 < await redis.ttl(keys.inactivity(SAM)) <= 3600
    assert await redis.zscore(keys.INACTIVITY_WARN, SAM) == 2.0
    assert await redis.zscore(keys.INACTIVITY_CLOSE, SAM) == 3.0
    assert not await redis.exists(f"contact:{{{JANE}}}", "contacts")
    assert await redis.exists(DONE)
    # The contacts store reads the moved contact.
    contact = await ContactStore(redis).get(JANE)
    assert contact is not None and contact.name == "Jane Doe"
    # Later starts skip the scan; an old key appearing after that stays put.
    await redis.zadd("contacts", {SAM: 4.0})
    assert (await rename_legacy_keys(redis)).moved == 0


async def test_a_key_the_new_code_already_wrote_is_never_overwritten(
    redis: Redis,
) -> None:
    await redis.hset(f"contact:{{{JANE}}}", mapping={"name": "Old Name"})
    await redis.hset(keys.contact(JANE), mapping={"name": "New Name"})
    result = await rename_legacy_keys(redis)
    assert result.kept_both == [f"contact:{{{JANE}}}"]
    assert await redis.hget(keys.contact(JANE), "name") == "New Name"
    assert await redis.hget(f"contact:{{{JANE}}}", "name") == "Old Name"
    assert not await redis.exists(DONE)  # reported again at the next start
