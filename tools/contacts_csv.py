"""Contacts from a CSV file: the rows read and checked, nothing written.

Kept apart from the import command (tools/import_contacts.py) because it is pure: the
file's text in, contacts and one reason per rejected row out, so every rule of
docs/contacts.md is tested without Redis or a file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from stores.contacts import ContactInput, normalise_number

PHONE_COLUMNS = ("phone", "number", "phone_number")
OTHER_COLUMNS = ("name", "email", "tags")
TAG_SEPARATOR = ";"  # not ",": a comma in a cell needs quotes, easy to forget
SHOWN_CHARS = 40


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
