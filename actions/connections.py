"""The action server's one Redis client and the stores built on it.

rasa_sdk runs every action on one event loop; the client is made on first use inside
that loop (an asyncio client is bound to the loop it first runs in) and reused.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from actions import config
from actions.appointment_store import AppointmentStore
from actions.business import business
from actions.handoff_store import HandoffStore

_clients: dict[int, Redis] = {}


def redis() -> Redis:
    loop_id = id(asyncio.get_running_loop())
    client = _clients.get(loop_id)
    if client is None:
        client = Redis.from_url(
            config.REDIS_URL, socket_timeout=5, socket_connect_timeout=5
        )
        _clients[loop_id] = client
    return client


def appointments() -> AppointmentStore:
    return AppointmentStore(redis(), business().timezone)


def handoffs() -> HandoffStore:
    return HandoffStore(redis())
