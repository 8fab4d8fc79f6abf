"""Tomorrow's reminders: one SMS per appointment, through the outbound API's path.

Each appointment starting within the horizon that has no reminder for its current
start time is sent as `{"template": "reminder", "slots": {"appointment_id": …}}`
with the idempotency key `reminder:<id>:<start>`: two senders at once, or one
restarted halfway, send each reminder once (api/idempotency.py, and the sender's
part ids). Opt-outs and quiet hours are the API's own checks. The in-server task
(`SMS_REMINDERS_ENABLED`) and `make send-reminders` (tools/send_reminders.py) both
run `send_reminders`, with a different `post`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from actions.appointment_store import Appointment, AppointmentStore

logger = logging.getLogger(__name__)

#: Sends one API request: (status, JSON body, Retry-After seconds or None).
Post = Callable[[dict[str, Any]], Awaitable[tuple[int, dict[str, Any], float | None]]]
MAX_RATE_WAITS = 30


@dataclass
class Report:
    sent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    #: Quiet hours: the rest waits for the next run inside the window.
    stopped: str | None = None

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1

    def summary(self) -> str:
        parts = [f"{self.sent} sent"]
        parts += [f"{n} {why}" for why, n in sorted(self.skipped.items())]
        if self.stopped:
            parts.append(f"stopped: {self.stopped}")
        return ", ".join(parts)


def reminder_request(appointment: Appointment) -> dict[str, Any]:
    """The API request for one reminder; its key changes when the time does."""
    return {
        "to": appointment.customer,
        "template": "reminder",
        "slots": {"appointment_id": appointment.id},
        "idempotency_key": f"reminder:{appointment.id}:{int(appointment.start.timestamp())}",
    }


async def due(
    store: AppointmentStore, now: datetime, horizon: timedelta
) -> list[Appointment]:
    """Appointments within the horizon without a reminder for their start time."""
    return [
        a
        for a in await store.starting_between(now, now + horizon)
        if a.reminded_for != a.start.isoformat()
    ]


async def send_reminders(
    store: AppointmentStore, now: datetime, horizon: timedelta, post: Post
) -> Report:
    """Send what is due; an appointment is marked reminded once the answer is
    final (sent, opted out, nothing to say), so a failed one is tried again."""
    report = Report()
    for appointment in await due(store, now, horizon):
        status, body, retry_after = await _post_waiting(
            post, reminder_request(appointment)
        )
        error = str(body.get("error") or "")
        if status == 202:
            report.sent += 1
        elif error == "quiet_hours":
            report.stopped = str(body.get("detail") or error)
            return report
        elif status == 429 or status >= 500 or error == "in_progress":
            report.skip(error or str(status))  # Twilio or limits: the next run
            continue
        else:  # opted out, nothing to say, handed to a person: not again
            report.skip(error or str(status))
        await store.mark_reminded(appointment)
    return report


async def _post_waiting(
    post: Post, request: dict[str, Any]
) -> tuple[int, dict[str, Any], float | None]:
    """The rate limit is shared with the business's other senders: wait for it."""
    for _ in range(MAX_RATE_WAITS):
        status, body, retry_after = await post(request)
        if status != 429:
            return status, body, retry_after
        await asyncio.sleep(retry_after or 1.0)
    return status, body, retry_after
