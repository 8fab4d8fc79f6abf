"""API keys for the business's routes: several, from the environment, each named.

`SMS_API_KEYS="crm:3f9c…,reminders:a81d…"` (or bare keys, named key1, key2 …).
A key is at least 16 characters. The name, never the key, is what rate limits,
idempotency and logs use, so one system's key can be replaced without the others.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from connectors import log_privacy

KEYS_ENV = "SMS_API_KEYS"
HEADER = "x-api-key"
MIN_KEY_LENGTH = 16


class KeysError(ValueError):
    """SMS_API_KEYS cannot be read: the server refuses to start."""


@dataclass(frozen=True)
class ApiKeys:
    #: name -> key; the keys are secrets, so never in a repr.
    by_name: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, raw: str | None) -> ApiKeys:
        by_name: dict[str, str] = {}
        entries = [e.strip() for e in (raw or "").split(",") if e.strip()]
        for index, entry in enumerate(entries, start=1):
            name, _, key = entry.rpartition(":")
            name = name.strip() or f"key{index}"
            key = key.strip()
            if len(key) < MIN_KEY_LENGTH:
                raise KeysError(
                    f"{KEYS_ENV}: the key named {name!r} is shorter than "
                    f"{MIN_KEY_LENGTH} characters (try: openssl rand -hex 24)"
                )
            if name in by_name:
                raise KeysError(f"{KEYS_ENV}: the name {name!r} is used twice")
            by_name[name] = key
        for key in by_name.values():
            log_privacy.register_secret(key)
        return cls(by_name)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiKeys:
        env = os.environ if environ is None else environ
        return cls.parse(env.get(KEYS_ENV))

    def name_of(self, given: str | None) -> str | None:
        """The key's name, or None. Every key is compared, in constant time each,
        so the answer's timing says nothing about which key came close."""
        if not given:
            return None
        found = None
        for name, key in self.by_name.items():
            if hmac.compare_digest(given.encode(), key.encode()):
                found = name
        return found

    def __bool__(self) -> bool:
        return bool(self.by_name)
