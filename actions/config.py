"""Every environment variable the action server reads, read in one place."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from redisio import RedisSettings, default_url
from replytext.business_file import business_file

#: The business file: BUSINESS_FILE, else business.yml of the folder BUSINESS names
#: (docs/adapting.md), else actions/business.yml.
BUSINESS_FILE: Path = business_file()

#: Redis holding appointments and hand-off requests: `REDIS_URL`, else the
#: project's own server (redisio.default_url). Parsed now: a bad URL stops start-up.
REDIS = RedisSettings.from_url(default_url())


def _fixed_now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"BUSINESS_NOW: expected an ISO date and time with its offset, "
            f"e.g. 2026-12-01T08:30:00-05:00, got {value!r}"
        ) from None
    if now.tzinfo is None:
        raise ValueError(f"BUSINESS_NOW: give the offset too (e.g. -05:00): {value!r}")
    return now


#: A fixed "now" for tests and demos only: every date the assistant reads
#: ("tomorrow", "next mon") or offers is relative to it. Unset in production.
FIXED_NOW = _fixed_now(os.environ.get("BUSINESS_NOW"))
