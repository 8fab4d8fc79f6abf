"""Every environment variable the action server reads, read in one place."""

from __future__ import annotations

import os
from pathlib import Path

#: The business file; defaults to actions/business.yml.
BUSINESS_FILE = Path(
    os.environ.get("BUSINESS_FILE") or Path(__file__).with_name("business.yml")
)

#: Redis holding appointments and hand-off requests (the project's own server).
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6390/0")
