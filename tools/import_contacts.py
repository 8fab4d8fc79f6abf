"""Import contacts from a CSV file: `python -m tools.import_contacts contacts.csv`.

Good rows are written in one transaction (`ContactStore.upsert_many`), so a crash
leaves the previous contacts untouched; bad rows are skipped and listed by line. Exit
0: every row imported; 1: some rows rejected, the rest imported; 2: nothing written
(unreadable file, no phone column, Redis unreachable). Format: docs/contacts.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

import redisio
from redisio import RedisSettings
from stores.contacts import ContactInput, ContactStore
from tools.contacts_csv import TAG_SEPARATOR, ContactsFileError, parse_contacts_csv

WRITE_TIMEOUT_S = 60.0  # the one script of a big import may take seconds


def _region(value: str) -> str:
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise argparse.ArgumentTypeError(f"unknown region {value!r} (e.g. US, GB, DE)")
    return region


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.import_contacts",
        description="Import contacts from a CSV file (columns phone, name, email, "
        f"tags; tags separated by '{TAG_SEPARATOR}') into Redis.",
    )
    parser.add_argument("file", type=Path, help="UTF-8 CSV with a header row")
    parser.add_argument(
        "--redis-url",
        default=redisio.default_url(),
        help="default: $REDIS_URL, else the project's own Redis (scripts/redis.sh)",
    )
    parser.add_argument(
        "--default-region",
        type=_region,
        help="region of numbers written without +<country code>, e.g. US",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and report, write nothing"
    )
    return parser.parse_args(argv)


def _safe_url(url: str) -> str:
    """The URL without its password, fit for an error message."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class ImportFailed(Exception):
    """Redis did not take the import; the message says whether anything was written."""


async def _import(url: str, contacts: list[ContactInput]) -> int:
    """Write the contacts; returns how many were new."""
    shown = _safe_url(url)
    try:
        redis = redisio.client(
            RedisSettings.from_url(url, socket_timeout=WRITE_TIMEOUT_S)
        )
    except ValueError as exc:
        raise ImportFailed(f"--redis-url {shown}: {exc}") from None
    try:
        try:
            await redis.ping()
        except RedisError as exc:
            raise ImportFailed(
                f"cannot reach Redis at {shown} ({exc}); nothing imported"
            ) from None
        try:
            return await ContactStore(redis).upsert_many(contacts, source="import")
        except (RedisConnectionError, RedisTimeoutError):
            raise ImportFailed(
                f"lost Redis at {shown} during the import: it was written whole or "
                "not at all; run it again to be sure"
            ) from None
        except RedisError as exc:
            raise ImportFailed(
                f"Redis at {shown} refused the import ({exc}); nothing imported"
            ) from None
    finally:
        await redisio.close_all()


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        text = args.file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        return _fail(
            f"{args.file} is not UTF-8 text (byte {exc.start}): save it as CSV UTF-8"
        )
    try:
        contacts, errors = parse_contacts_csv(text, args.default_region)
    except ContactsFileError as exc:
        return _fail(f"{args.file}: {exc}; nothing imported")
    for error in errors:
        print(error)
    if args.default_region is None and any(
        "no country code" in e.reason for e in errors
    ):
        print(
            "hint: numbers written without +<country code> need --default-region US (say)"
        )
    rejected = _plural(len(errors), "row")
    if args.dry_run:
        print(
            f"dry run: {_plural(len(contacts), 'contact')} to import, {rejected} rejected"
        )
        return 1 if errors else 0
    created = 0
    if contacts:
        try:
            created = asyncio.run(_import(args.redis_url, contacts))
        except ImportFailed as exc:
            return _fail(str(exc))
    updated = len(contacts) - created
    print(
        f"imported {_plural(len(contacts), 'contact')} ({created} created, "
        f"{updated} updated), {rejected} rejected"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
