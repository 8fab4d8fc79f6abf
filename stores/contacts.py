"""Contacts in Redis, keyed by E.164 number: who a texting number is.

Every write is one Lua script, so a contact is never seen half-written: two first texts
from one number create it once, and a CSV import lands whole or not at all. Key layout,
CSV format and the channel settings that read this store: docs/contacts.md.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult
from redis.asyncio import Redis

from redisio import keys as redis_keys
from redisio import scripts

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_IMPOSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong length for its country",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number without its area code",
}


def normalise_number(text: str, default_region: str | None) -> str:
    """E.164 for a number as people write it, or ValueError saying what is wrong.

    Possible, not valid: `is_valid_number` rejects ranges newer than the installed
    metadata, and a customer who can text us has a real number. Local-only numbers and
    extensions are refused too: neither can be texted.
    """
    text = text.strip()
    if not text:
        raise ValueError("no phone number")
    if default_region is None and not text.startswith("+"):
        raise ValueError("no country code: write it as +<country code><number>")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "not a phone number")
        raise ValueError(f"not a phone number ({reason})") from None
    result = phonenumbers.is_possible_number_with_reason(parsed)
    if result != ValidationResult.IS_POSSIBLE:
        reason = _IMPOSSIBLE_REASONS.get(result, "impossible")
        raise ValueError(f"not a possible phone number ({reason})")
    if parsed.extension:
        raise ValueError("has an extension, which cannot receive texts")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class ContactInput:
    """What an import or an API call says about a number; None/() keeps stored values."""

    number: str
    name: str | None = None
    email: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    """A stored contact; `source` says who created or last updated it."""

    number: str
    name: str | None
    email: str | None
    tags: tuple[str, ...]
    created_at: float
    updated_at: float
    source: str

    def to_hash(self) -> dict[str, str]:
        """Hash fields; a missing name or email is left out rather than stored empty."""
        fields = {
            "tags": json.dumps(list(self.tags)),
            "created_at": repr(self.created_at),
            "updated_at": repr(self.updated_at),
            "source": self.source,
        }
        if self.name is not None:
            fields["name"] = self.name
        if self.email is not None:
            fields["email"] = self.email
        return fields

    @classmethod
    def from_hash(cls, number: str, fields: Mapping[str, str]) -> Contact:
        return cls(
            number=number,
            name=fields.get("name") or None,
            email=fields.get("email") or None,
            tags=tuple(json.loads(fields.get("tags") or "[]")),
            created_at=float(fields["created_at"]),
            updated_at=float(fields["updated_at"]),
            source=fields.get("source", ""),
        )


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _check_number(number: str) -> None:
    """A non-E.164 key would be a contact no inbound text ever finds."""
    if not _E164.fullmatch(number):
        raise ValueError(f"{number!r} is not an E.164 number (normalise_number first)")


class ContactStore:
    """Contacts on a `decode_responses=True` client; numbers must already be E.164."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def get(self, number: str) -> Contact | None:
        fields = await self.redis.hgetall(redis_keys.contact(number))
        return Contact.from_hash(number, fields) if fields else None

    async def create_if_missing(
        self, number: str, source: str = "sms", now: float | None = None
    ) -> tuple[Contact, bool]:
        """The contact, and whether this call created it.

        Check and create are one script: of two first texts racing, one creates and the
        other reads its contact, and an existing created_at is never touched.
        """
        _check_number(number)
        now = time.time() if now is None else float(now)
        reply = await scripts.CONTACT_CREATE_IF_MISSING(
            self.redis,
            keys=[redis_keys.contact(number), redis_keys.CONTACTS_INDEX],
            args=[number, repr(now), source],
        )
        if reply[0] == 1:
            return Contact(number, None, None, (), now, now, source), True
        return Contact.from_hash(number, _pairs(reply[1])), False

    async def upsert_many(
        self,
        contacts: Sequence[ContactInput],
        source: str,
        now: float | None = None,
    ) -> int:
        """Write all contacts in one script and return how many were new.

        One script, so an import interrupted by a crash or a dropped connection writes
        all or none, and a key of the wrong type stops it before the first write. An
        update keeps created_at and the stored name, email and tags unless a non-empty
        one is given. Redis serves no one else meanwhile: 1-2 s per 100,000 contacts.
        """
        if not contacts:
            return 0
        for contact in contacts:
            _check_number(contact.number)
        now = time.time() if now is None else float(now)
        keys = [redis_keys.CONTACTS_INDEX] + [
            redis_keys.contact(c.number) for c in contacts
        ]
        args: list[str] = [repr(now), source]
        for c in contacts:
            tags = json.dumps(list(c.tags)) if c.tags else ""
            args += [c.number, c.name or "", c.email or "", tags]
        return int(await scripts.CONTACT_UPSERT_MANY(self.redis, keys=keys, args=args))

    async def count(self) -> int:
        return int(await self.redis.zcard(redis_keys.CONTACTS_INDEX))
