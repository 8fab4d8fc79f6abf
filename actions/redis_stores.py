"""The action server's stores, on the process's one Redis client (redisio).

rasa_sdk runs every action on one event loop; redisio makes the client inside that
loop on first use and hands the same one out afterwards.
"""

from __future__ import annotations

import redisio
from actions import config
from actions.appointment_store import AppointmentStore
from actions.business import business
from actions.handoff_store import HandoffStore


def appointments() -> AppointmentStore:
    """The appointment store on this process's Redis client, in the business's zone."""
    return AppointmentStore(redisio.client(config.REDIS), business().timezone)


def handoffs() -> HandoffStore:
    """The hand-off request store on this process's Redis client."""
    return HandoffStore(redisio.client(config.REDIS))
