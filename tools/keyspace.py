"""Which of the project's Redis keys could grow without end: every key needs a TTL,
or a pattern below that says what bounds it instead.

    .venv/bin/python -m tools.keyspace redis://127.0.0.1:6390/0

prints every key that has no TTL and no entry here, and exits 1 if there is one.
The tests and `make soak` use the same list, so a new key without a TTL fails them
until it has a bound and a reason here.
"""

from __future__ import annotations

import asyncio
import fnmatch
import sys
from collections.abc import Iterable

from redis.asyncio import Redis

import redisio
from redisio import RedisSettings

#: (pattern, what bounds it). Patterns are fnmatch globs over the key name.
BOUNDED: tuple[tuple[str, str], ...] = (
    # Conversation history: retention_days (default 365), trimmed daily.
    ("tracker:{*}:events", "tracker retention_days, trimmed daily (housekeeping)"),
    ("tracker:{*}:sessions", "tracker retention_days, trimmed with its events"),
    ("tracker:conversations", "one member per kept conversation, trimmed with it"),
    # SMS channel: indexes with one member per conversation that has something due.
    ("sms:work", "one member per conversation with queued texts; removed when empty"),
    ("sms:ready", "stream, XADD MAXLEN 100000; consumers of dead processes removed"),
    ("sms:{inactivity}:warn", "one member per engaged conversation; removed when due"),
    ("sms:{inactivity}:close", "one member per warned conversation; removed when due"),
    # Opt-outs are the record Twilio and the law ask for: kept while they hold.
    ("sms:legacy_keys_renamed:v1", "one marker: the cluster key rename ran"),
    ("sms:{*}:optout", "one field per business number the customer opted out of"),
    ("sms:{*}:optout:log", "the opt-out record a business must be able to show"),
    (
        "sms:{*}:keyword_sids",
        "newest 1,000 STOP/START MessageSids per customer (inbox.KEYWORD_SIDS_KEPT)",
    ),
    # Business records, kept as the business keeps its own books (docs/deployment.md).
    ("{contacts}:index", "the business's contacts index: one member per contact"),
    ("{contacts}:contact:*", "one contact; deleted with the business's own tools"),
    ("{appointments}:*", "the appointment book (docs/deployment.md, retention)"),
    ("{handoff}:pending", "one field per conversation waiting for staff"),
    ("{handoff}:requests", "stream of hand-off requests, XADD MAXLEN"),
    # The business API: texts waiting for quiet hours to end, removed once sent.
    ("sms:{deferred}:due", "one member per text waiting for sending hours"),
    ("sms:{deferred}:taken", "one member per waiting text a worker is sending"),
    ("sms:{deferred}:jobs", "one field per waiting text; deleted once sent"),
    # Analytics (analytics/counters.py): the days' keys expire with the retention.
    ("sms:{stats}:lines", "one member per business number or Messaging Service"),
    (
        "sms:conversations",
        "one member per number active within the analytics retention (trimmed on write)",
    ),
)


def bound_of(key: str) -> str | None:
    for pattern, reason in BOUNDED:
        if fnmatch.fnmatchcase(key, pattern):
            return reason
    return None


async def unbounded_keys(clients: Iterable[Redis]) -> list[str]:
    """Keys with no TTL and no bound above, `db/key`, sorted."""
    found = []
    for client in clients:
        pool = getattr(client, "connection_pool", None)  # a cluster has none: db 0
        db = pool.connection_kwargs.get("db", 0) if pool else 0
        async for raw in client.scan_iter(count=1000):
            key = raw.decode() if isinstance(raw, bytes) else raw  # any client
            if await client.ttl(key) == -1 and bound_of(key) is None:
                found.append(f"{db}/{key}")
    return sorted(found)


async def _audit(urls: list[str]) -> list[str]:
    """`unbounded_keys` of the databases at these URLs."""
    clients = [redisio.client(RedisSettings.from_url(url)) for url in urls]
    try:
        return await unbounded_keys(clients)
    finally:
        await redisio.close_all()


def audit_keys(urls: list[str]) -> list[str]:
    return asyncio.run(_audit(urls))


def main(urls: list[str]) -> int:
    if not urls:
        print(__doc__)
        return 2
    left = audit_keys(urls)
    for key in left:
        print(key)
    print(f"{len(left)} key(s) without a TTL or a bound", file=sys.stderr)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
