"""Import contacts from a CSV file: `python -m tools.import_contacts contacts.csv`.

Good rows are written in one transaction (`ContactStore.upsert_many`), so a crash
leaves the previous contacts untouched; bad rows are skipped and listed by line. Exit
0: every row imported; 1: some rows rejected, the rest imported; 2: nothing written
(unreadable file, no phone column, Redis unreachable). Format: docs/contacts.md.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

import redisio
from redisio import RedisSettings
from stores.contacts import ContactInput, ContactStore, normalise_number

PHONE_COLUMNS = ("phone", "number", "phone_number")
OTHER_COLUMNS = ("name", "email", "tags")
TAG_SEPARATOR = ";"  # not ",": a comma in a cell needs quotes, easy to forget
SHOWN_CHARS = 40
WRITE_TIMEOUT_S = 60.0  # the one script of a big import may take seconds


@dataclass(frozen=True)
class RowError:
    """A skipped row: its first line in the file, and why, on one line."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ContactsFileError(ValueError):
    """The file as a whole cannot be imported, so nothing of it is written."""


def _show(value: str) -> str:
    """A cell as it can appear inside a one-line reason."""
    text = " ".join(value.split())
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def email_problem(email: str) -> str | None:
    """Why this is not an email address, or None: a typo check, not RFC 5322."""
    if any(ch.isspace() for ch in email):
        return "not an email address (contains a space)"
    if email.count("@") != 1:
        return "not an email address (needs exactly one @)"
    local, domain = email.split("@")
    if not local:
        return "not an email address (nothing before the @)"
    if "." not in domain or domain.startswith(".") or domain.endswith("."):
        return "not an email address (no dot inside the domain)"
    return None


def _columns(header: list[str], line: int) -> dict[str, int]:
    """Column name -> index; "Phone Number" and "phone-number" mean phone_number."""
    names = ["_".join(cell.lower().replace("-", " ").split()) for cell in header]
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        key = "phone" if name in PHONE_COLUMNS else name
        if key not in ("phone", *OTHER_COLUMNS):
            continue  # other columns (notes, ...) are ignored
        if key in columns:
            raise ContactsFileError(f"line {line}: more than one {key} column")
        columns[key] = index
    if "phone" not in columns:
        shown = ", ".join(_show(n) for n in names if n) or "nothing"
        raise ContactsFileError(
            f"line {line}: no phone column; the header must name one of "
            f"{', '.join(PHONE_COLUMNS)} (it has {shown})"
        )
    return columns


def _tags(cell: str) -> tuple[str, ...]:
    tags = (" ".join(tag.split()) for tag in cell.split(TAG_SEPARATOR))
    return tuple(dict.fromkeys(tag for tag in tags if tag))


def _contact(
    cells: dict[str, str], line: int, region: str | None, first_line: dict[str, int]
) -> ContactInput | RowError:
    """One row's contact, or every reason to reject it; records its number's line."""
    problems: list[str] = []
    raw, email = cells["phone"], cells.get("email", "")
    try:
        number = normalise_number(raw, region)
    except ValueError as exc:
        number = None
        problems.append(f"{_show(raw)}: {exc}" if raw else str(exc))
    if number is not None and number in first_line:
        also = "" if number == raw else f" ({number})"
        problems.append(f"{_show(raw)}: same number as line {first_line[number]}{also}")
    elif number is not None:
        first_line[number] = line
    problem = email_problem(email) if email else None
    if problem:
        problems.append(f"{_show(email)}: {problem}")
    if problems or number is None:
        return RowError(line, "; ".join(problems))
    return ContactInput(
        number=number,
        name=" ".join(cells.get("name", "").split()) or None,
        email=email or None,
        tags=_tags(cells.get("tags", "")),
    )


def parse_contacts_csv(
    text: str, default_region: str | None
) -> tuple[list[ContactInput], list[RowError]]:
    """Contacts from the good rows, and one RowError per bad row.

    Pure, and never raises for a bad row: only ContactsFileError, when the file has
    no header with a phone column or is not CSV. Blank rows are skipped; a short row
    has empty cells, a row longer than the header is rejected (an unquoted comma).
    """
    if "\x00" in text:
        raise ContactsFileError(
            "contains NUL characters (UTF-16 or binary?): save it as CSV UTF-8"
        )
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    contacts: list[ContactInput] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    columns: dict[str, int] | None = None
    width = 0
    line = 1
    try:
        for row in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                columns, width = _columns(row, start), len(row)
                continue
            if len(row) > width:
                errors.append(
                    RowError(
                        start,
                        f"{len(row)} cells but the header has {width} columns "
                        "(a comma inside a value needs quotes)",
                    )
                )
                continue
            cells = {
                key: row[i].strip() if i < len(row) else ""
                for key, i in columns.items()
            }
            result = _contact(cells, start, default_region, first_line)
            if isinstance(result, RowError):
                errors.append(result)
            else:
                contacts.append(result)
    except csv.Error as exc:
        raise ContactsFileError(f"line {line}: not CSV ({exc})") from None
    if columns is None:
        raise ContactsFileError(
            "empty file: expected a header row naming a phone column"
        )
    return contacts, errors


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
