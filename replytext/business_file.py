"""Which business file the servers read, and the facts the channel's own replies
name (HELP and the fallback reply: carriers want HELP to name the business).

Shared by the action server (which reads the whole file, actions/business.py) and
the SMS channel (which needs only the name and phone, and does not import actions).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def business_file() -> Path:
    """BUSINESS_FILE, else business.yml of the folder BUSINESS names (relative to
    the repository; docs/adapting.md), else actions/business.yml."""
    if os.environ.get("BUSINESS_FILE"):
        return Path(os.environ["BUSINESS_FILE"])
    folder = os.environ.get("BUSINESS", "").strip()
    if folder:
        return ROOT / folder / "business.yml"
    return ROOT / "actions" / "business.yml"


def business_facts(path: Path | None = None) -> dict[str, str]:
    """The business's name and phone; ValueError naming the file when unreadable."""
    path = path or business_file()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    if not isinstance(raw, dict) or not raw.get("name"):
        raise ValueError(f"{path}: no name")
    return {"name": str(raw["name"]), "phone": str(raw.get("phone") or "")}
