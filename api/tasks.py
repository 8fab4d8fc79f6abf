"""What each Rasa server does for the business API in the background: send the
deferred texts whose time came, and (if enabled) tomorrow's reminders.

Every server runs these; Redis decides who does what (api/deferred.py takes a
job for one worker, reminders are idempotent), so adding a server adds no texts.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from api import reminders
from api.outbound import Outbound
from api.settings import ApiSettings

logger = logging.getLogger(__name__)

DEFERRED_POLL_SECONDS = 1.0
STOP_SECONDS = 1.0
REMINDERS_KEY_NAME = "reminders"


class ApiTasks:
    def __init__(self, outbound: Outbound, api: ApiSettings, redis: Redis) -> None:
        self.outbound = outbound
        self.api = api
        self.redis = redis
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._deferred_loop()))
        if self.api.reminders_enabled:
            self._tasks.append(asyncio.create_task(self._reminders_loop()))

    async def stop(self) -> None:
        """Cancelled, and waited for briefly: a task cancelled inside a Redis
        command may never finish cancelling (as connectors/twilio_sms.py says
        of closing clients), and a stop must not hang on it."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
        self._tasks.clear()

    async def _deferred_loop(self) -> None:
        while True:
            try:
                await self.outbound.run_due_jobs()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # Redis down: the jobs wait in Redis
                logger.warning("deferred texts not checked: %r", err)
            await asyncio.sleep(DEFERRED_POLL_SECONDS)

    async def _reminders_loop(self) -> None:
        while True:
            try:
                report = await self.run_reminders()
                if report.sent or report.skipped:
                    logger.info("reminders: %s", report.summary())
            except asyncio.CancelledError:
                raise
            except Exception as err:
                logger.warning("reminders not sent this round: %r", err)
            await asyncio.sleep(self.api.reminders_interval_seconds)

    async def run_reminders(self) -> reminders.Report:
        from actions.appointment_store import AppointmentStore
        from actions.business import business

        biz = business()
        store = AppointmentStore(self.redis, biz.timezone)

        async def post(
            request: dict[str, Any],
        ) -> tuple[int, dict[str, Any], float | None]:
            answer, headers = await self.outbound.handle(REMINDERS_KEY_NAME, request)
            wait = headers.get("Retry-After")
            return answer.status, answer.body, float(wait) if wait else None

        return await reminders.send_reminders(
            store, biz.now(), timedelta(hours=self.api.reminder_horizon_hours), post
        )
