"""Every Lua script the project runs, each from a file under redisio/lua/.

Run with redis-py's own `AsyncScript`: EVALSHA, and after a Redis restart (NOSCRIPT)
SCRIPT LOAD then EVALSHA again. One object per script for the whole process; the
client is passed at each call, so the same script serves every loop's client. Each
file's header says what its KEYS and ARGV are.

All KEYS of one call must hash to one slot (`one_slot`), checked before the call on
a single server too: a Redis Cluster refuses anything else (CROSSSLOT), so a key
layout that would break there fails every test here instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.crc import key_slot

LUA_DIR = Path(__file__).with_name("lua")


def one_slot(name: str, keys: Sequence[str]) -> None:
    """ValueError unless every key maps to the same cluster hash slot."""
    slots = {key_slot(key.encode()) for key in keys}
    if len(slots) > 1:
        raise ValueError(f"{name}: keys span {len(slots)} hash slots: {list(keys)}")


class Lua:
    """One script file; `await SCRIPT(client, keys, args)`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.source = (LUA_DIR / f"{name}.lua").read_text()
        self._script: AsyncScript | None = None

    async def __call__(
        self, client: Redis, keys: Sequence[str], args: Sequence[Any] = ()
    ) -> Any:
        one_slot(self.name, keys)
        if self._script is None:  # the SHA only needs the client's encoding (UTF-8)
            self._script = AsyncScript(client, self.source)
        return await self._script(keys=list(keys), args=list(args), client=client)

    def __repr__(self) -> str:
        return f"Lua({self.name!r})"


# A few plain commands as one step (redisio/atomic.py).
ATOMIC = Lua("atomic")
# The webhook's inbox (connectors/inbox.py).
INBOX_ACCEPT = Lua("inbox_accept")
INBOX_RELEASE = Lua("inbox_release")
INBOX_RENEW = Lua("inbox_renew")
INBOX_ACK = Lua("inbox_ack")
# One text's turn and its replies (connectors/replies.py).
REPLY_BEGIN = Lua("replies_begin")
REPLY_BEAT = Lua("replies_beat")
REPLY_TAKE_OVER = Lua("replies_take_over")
REPLY_ABANDON = Lua("replies_abandon")
REPLY_FINISH = Lua("replies_finish")
# Sending a part at most once (connectors/sender.py).
PART_CLAIM = Lua("sender_claim")
PART_SETTLE = Lua("sender_settle")
PART_REPLACE = Lua("sender_replace")
PART_ADOPT = Lua("sender_adopt")
# Delivery callbacks (connectors/status.py) and the inactivity schedule.
STATUS_UPDATE = Lua("status_update")
INACTIVITY_CLAIM = Lua("inactivity_claim")
# Contacts (stores/contacts.py), the tracker store and the lock store.
CONTACT_CREATE_IF_MISSING = Lua("contacts_create_if_missing")
CONTACT_UPSERT_MANY = Lua("contacts_upsert_many")
TRACKER_APPEND_EVENTS = Lua("append_events")
TRACKER_CURRENT_SESSION = Lua("current_session")
TRACKER_TRIM_SESSIONS = Lua("trim_sessions")
LOCK_TICKET = Lua("lock_ticket")
# Appointments (actions/appointment_store.py).
APPOINTMENT_PLACE = Lua("appointments_place")
# The business API (api/): rate limit and deferred texts.
RATE_TAKE = Lua("rate_take")
IDEMPOTENCY = Lua("idempotency")
OUTBOUND_DUE = Lua("outbound_due")
