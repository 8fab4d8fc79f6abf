"""Appointments in Redis, keyed by the customer's phone number (Rasa's sender id).

Booking and moving check for overlaps and write in one Lua script, so two customers
texting for the same slot at once cannot both get it. All keys share the hash tag
`{appointments}`: one cluster slot, so the script stays legal on a Redis Cluster.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from actions.business import Service
from actions.scheduling import Booked
from redisio import keys as redis_keys
from redisio import scripts
from redisio.atomic import atomic

# Longest appointment we look back for when checking overlaps.
MAX_DURATION = timedelta(hours=12)

ACTIVE = ("booked", "confirmed")


class SlotTaken(Exception):
    """Another appointment overlaps the requested time."""


@dataclass(frozen=True)
class Appointment:
    id: str
    customer: str
    service: str
    name: str
    start: datetime
    end: datetime
    status: str
    #: The start time a reminder went out for (a moved appointment gets another).
    reminded_for: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class AppointmentStore:
    """The clinic's diary. One instance per process, over a shared Redis client."""

    def __init__(self, redis: Redis, timezone: ZoneInfo) -> None:
        self._redis = redis
        self._tz = timezone

    async def book(
        self, customer: str, service: Service, start: datetime, name: str
    ) -> Appointment:
        appointment = Appointment(
            id=uuid.uuid4().hex[:12],
            customer=customer,
            service=service.key,
            name=name,
            start=start,
            end=start + service.duration,
            status="booked",
        )
        await self._write(appointment)
        return appointment

    async def move(
        self, appointment: Appointment, start: datetime, service: Service
    ) -> Appointment:
        moved = replace(
            appointment, start=start, end=start + service.duration, status="booked"
        )
        await self._write(moved)
        return moved

    async def cancel(self, appointment: Appointment) -> Appointment:
        cancelled = replace(appointment, status="cancelled")
        await atomic(
            self._redis,
            ("ZREM", redis_keys.APPOINTMENT_SCHEDULE, appointment.id),
            ("HDEL", redis_keys.APPOINTMENT_ENDS, appointment.id),
            ("HSET", redis_keys.appointment(appointment.id), "status", "cancelled"),
        )
        return cancelled

    async def confirm(self, appointment: Appointment) -> Appointment:
        await self._redis.hset(
            redis_keys.appointment(appointment.id), "status", "confirmed"
        )
        return replace(appointment, status="confirmed")

    async def get(self, appointment_id: str) -> Appointment | None:
        fields = await self._redis.hgetall(redis_keys.appointment(appointment_id))
        return self._from_hash(fields) if fields else None

    async def starting_between(
        self, start: datetime, end: datetime
    ) -> list[Appointment]:
        """Active appointments starting in [start, end), soonest first."""
        ids = await self._redis.zrangebyscore(
            redis_keys.APPOINTMENT_SCHEDULE, start.timestamp(), f"({end.timestamp()}"
        )
        found = [await self.get(i) for i in ids]
        return [a for a in found if a and a.active]

    async def mark_reminded(self, appointment: Appointment) -> None:
        await self._redis.hset(
            redis_keys.appointment(appointment.id),
            "reminded_for",
            appointment.start.isoformat(),
        )

    async def upcoming(self, customer: str, now: datetime) -> list[Appointment]:
        """Active appointments that have not ended yet, soonest first."""
        since = (now - MAX_DURATION).timestamp()
        ids = await self._redis.zrangebyscore(
            redis_keys.customer_appointments(customer), since, "+inf"
        )
        found = [await self.get(i) for i in ids]
        return [a for a in found if a and a.active and a.end > now]

    async def booked_between(self, start: datetime, end: datetime) -> list[Booked]:
        """Every active appointment overlapping [start, end), for free-slot search."""
        scored = await self._redis.zrangebyscore(
            redis_keys.APPOINTMENT_SCHEDULE,
            (start - MAX_DURATION).timestamp(),
            f"({end.timestamp()}",
            withscores=True,
        )
        if not scored:
            return []
        ends = await self._redis.hmget(
            redis_keys.APPOINTMENT_ENDS, [i for i, _ in scored]
        )
        booked = []
        for (_, s), e in zip(scored, ends, strict=True):
            if e is None:
                continue  # cancelled between the two reads
            slot = Booked(self._at(float(s)), self._at(float(e)))
            if slot.end > start:
                booked.append(slot)
        return booked

    async def _write(self, appointment: Appointment) -> None:
        fields: Sequence[str] = (
            "id", appointment.id,
            "customer", appointment.customer,
            "service", appointment.service,
            "name", appointment.name,
            "start", appointment.start.isoformat(),
            "end", appointment.end.isoformat(),
            "status", appointment.status,
        )  # fmt: skip
        placed = await scripts.APPOINTMENT_PLACE(
            self._redis,
            keys=[
                redis_keys.APPOINTMENT_SCHEDULE,
                redis_keys.APPOINTMENT_ENDS,
                redis_keys.customer_appointments(appointment.customer),
                redis_keys.appointment(appointment.id),
            ],
            args=[
                appointment.id,
                int(appointment.start.timestamp()),
                int(appointment.end.timestamp()),
                int(MAX_DURATION.total_seconds()),
                *fields,
            ],
        )
        if not placed:
            raise SlotTaken(appointment.start.isoformat())

    def _at(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, self._tz)

    def _from_hash(self, f: dict[str, str]) -> Appointment:
        return Appointment(
            id=f["id"],
            customer=f["customer"],
            service=f["service"],
            name=f["name"],
            start=datetime.fromisoformat(f["start"]).astimezone(self._tz),
            end=datetime.fromisoformat(f["end"]).astimezone(self._tz),
            status=f["status"],
            reminded_for=f.get("reminded_for"),
        )
