"""Every environment variable the action server reads, read in one place."""

from __future__ import annotations

import os
from pathlib import Path

from redisio import RedisSettings, default_url

#: The business file; defaults to actions/business.yml.
BUSINESS_FILE = Path(
    os.environ.get("BUSINESS_FILE") or Path(__file__).with_name("business.yml")
)

#: Redis holding appointments and hand-off requests: `REDIS_URL`, else the
#: project's own server (redisio.default_url). Parsed now: a bad URL stops start-up.
REDIS = RedisSettings.from_url(default_url())
