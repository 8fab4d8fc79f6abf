"""ContactStore against a real Redis, and the CSV importer: a number is created once
however many first texts race, created_at survives every update, an import lands whole
or not at all, and each bad row is reported by its line while the good ones go in."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import phonenumbers
import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.exceptions import ResponseError

import redisio
from redisio import RedisSettings
from redisio import keys as redis_keys
from stores.contacts import (
    Contact,
    ContactInput,
    ContactStore,
    normalise_number,
)
from tests.properties import property_settings
from tools.contacts_csv import ContactsFileError, RowError, parse_contacts_csv
from tools.harness.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
PROPERTY = property_settings(max_examples=200)
JANE = "+14155552671"
OMAR = "+442079460958"


@pytest_asyncio.fixture
async def db(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = redisio.separate(RedisSettings.from_url(redis_server.url))
    await client.flushdb()
    yield client
    await client.flushdb()
    await redisio.close(client)


@pytest.fixture
def store(db: Redis) -> ContactStore:
    return ContactStore(db)


# --- normalise_number ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("+1 (415) 555-2671", None, JANE),
        (" 415.555.2671 ", "US", JANE),
        ("+44 20 7946 0958", "US", OMAR),
        ("020 7946 0958", "GB", OMAR),
    ],
)
def test_normalise_number_gives_e164(
    text: str, region: str | None, expected: str
) -> None:
    assert normalise_number(text, region) == expected


@pytest.mark.parametrize(
    ("text", "region", "reason"),
    [
        ("", "US", "no phone number"),
        ("4155552671", None, "no country code"),
        ("+1555", None, "not a possible phone number (too short)"),
        ("hello", "US", "not a phone number"),
        ("+999 123 456", None, "not a phone number (unknown country code)"),
        ("555 2671", "US", "not a possible phone number (a local number"),
        ("+1 415 555 2671 ext. 12", None, "has an extension"),
    ],
)
def test_normalise_number_says_why_it_refuses(
    text: str, region: str | None, reason: str
) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(reason)):
        normalise_number(text, region)


# --- ContactStore -------------------------------------------------------------------


def test_a_contact_reads_back_from_its_hash() -> None:
    contact = Contact(JANE, "Jane", None, ("vip", "new"), 1.5, 2.25, "api")
    assert Contact.from_hash(JANE, contact.to_hash()) == contact
    assert "email" not in contact.to_hash()


async def test_ten_concurrent_first_texts_create_one_contact(
    store: ContactStore, db: Redis
) -> None:
    results = await asyncio.gather(
        *(store.create_if_missing(JANE, now=1000.0 + i) for i in range(10))
    )
    assert sum(created for _, created in results) == 1
    winner = next(contact for contact, created in results if created)
    assert {contact for contact, _ in results} == {winner}
    assert await store.get(JANE) == winner
    assert winner.source == "sms" and winner.created_at == winner.updated_at
    assert await store.count() == 1
    assert await db.zscore(redis_keys.CONTACTS_INDEX, JANE) == winner.updated_at


async def test_create_if_missing_leaves_a_known_contact_untouched(
    store: ContactStore,
) -> None:
    await store.upsert_many([ContactInput(JANE, name="Jane")], "import", now=100.0)
    contact, created = await store.create_if_missing(JANE, now=200.0)
    assert not created
    assert contact == Contact(JANE, "Jane", None, (), 100.0, 100.0, "import")
    assert await store.get(JANE) == contact


async def test_an_update_keeps_created_at_and_whatever_it_does_not_give(
    store: ContactStore, db: Redis
) -> None:
    await store.create_if_missing(JANE, now=100.0)
    first = [ContactInput(JANE, "Jane", "jane@example.com", ("vip",))]
    assert await store.upsert_many(first, "import", now=200.0) == 0
    assert (
        await store.upsert_many([ContactInput(JANE, name="Jane Doe")], "api", 300.0)
        == 0
    )
    assert await store.get(JANE) == Contact(
        JANE, "Jane Doe", "jane@example.com", ("vip",), 100.0, 300.0, "api"
    )
    assert await db.zscore(redis_keys.CONTACTS_INDEX, JANE) == 300.0


async def test_upsert_many_counts_the_new_ones(store: ContactStore) -> None:
    await store.create_if_missing(JANE, now=1.0)
    batch = [ContactInput(JANE, "Jane"), ContactInput(OMAR, "Omar", tags=("gb",))]
    assert await store.upsert_many(batch, "import", now=5.0) == 1
    assert await store.count() == 2
    assert await store.get(OMAR) == Contact(
        OMAR, "Omar", None, ("gb",), 5.0, 5.0, "import"
    )
    assert await store.upsert_many([], "import") == 0


async def test_a_redis_error_half_way_through_an_import_writes_nothing(
    store: ContactStore, db: Redis
) -> None:
    numbers = [f"+1415555{n:04d}" for n in range(5)]
    await db.set(redis_keys.contact(numbers[3]), "not a hash")
    with pytest.raises(ResponseError, match="nothing written"):
        await store.upsert_many([ContactInput(n, "X") for n in numbers], "import")
    assert await db.keys("*") == [redis_keys.contact(numbers[3])]


async def test_a_reader_sees_an_import_as_none_or_all_of_it(
    store: ContactStore, db: Redis
) -> None:
    batch = [ContactInput(f"+1415555{n:04d}", f"C{n}") for n in range(3000)]
    seen: set[int] = set()
    writing = asyncio.create_task(store.upsert_many(batch, "import"))
    while not writing.done():
        seen.add(await store.count())
    assert await writing == 3000
    seen.add(await store.count())
    assert seen <= {0, 3000} and 3000 in seen


async def test_a_number_not_in_e164_is_refused_before_anything_is_written(
    store: ContactStore, db: Redis
) -> None:
    with pytest.raises(ValueError, match="E.164"):
        await store.upsert_many([ContactInput(JANE), ContactInput("4155550100")], "api")
    with pytest.raises(ValueError, match="E.164"):
        await store.create_if_missing("(415) 555-2671")
    assert await db.dbsize() == 0


# --- parse_contacts_csv -------------------------------------------------------------

GOOD_AND_BAD = """\ufeff Phone Number ,NAME, Email ,Tags,notes
+1 415 555 2671,Jane  Doe,jane@example.com,vip; new ;vip,ignored
+1555,Too Short,,,
(415) 555-2671,Jane Again,,,

+44 20 7946 0958,"Omar, Senior",omar@example,,
+442079460959,Smith, John,john@example.com,,
,No Phone,,,
"+33 1 23 45 67 89","Two
Lines",,a;b
"""


def test_good_rows_become_contacts_and_bad_rows_errors_by_line() -> None:
    contacts, errors = parse_contacts_csv(GOOD_AND_BAD, "US")
    assert contacts == [
        ContactInput(JANE, "Jane Doe", "jane@example.com", ("vip", "new")),
        ContactInput("+33123456789", "Two Lines", None, ("a", "b")),
    ]
    assert [str(e) for e in errors] == [
        "line 3: +1555: not a possible phone number (too short)",
        "line 4: (415) 555-2671: same number as line 2 (+14155552671)",
        "line 6: omar@example: not an email address (no dot inside the domain)",
        "line 7: 6 cells but the header has 5 columns (a comma inside a value needs quotes)",
        "line 8: no phone number",
    ]


@pytest.mark.parametrize("column", ["phone", "NUMBER", " phone_number "])
def test_each_phone_column_name_is_accepted(column: str) -> None:
    assert parse_contacts_csv(f"{column}\n{JANE}\n", None) == ([ContactInput(JANE)], [])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,email\nJane,jane@example.com\n", "no phone column"),
        ("", "empty file"),
        ("phone,number\n", "more than one phone column"),
    ],
)
def test_a_file_without_one_phone_column_is_refused_whole(
    text: str, message: str
) -> None:
    with pytest.raises(ContactsFileError, match=message):
        parse_contacts_csv(text, "US")


@pytest.mark.parametrize(
    "email",
    ["jane", "jane@@example.com", "@example.com", "jane@example", "j@.com", "j a@b.co"],
)
def test_an_email_needs_one_at_and_a_dot_in_its_domain(email: str) -> None:
    contacts, errors = parse_contacts_csv(f"phone,email\n{JANE},{email}\n", None)
    assert (
        contacts == []
        and errors[0].line == 2
        and "not an email address" in errors[0].reason
    )


@PROPERTY
@given(st.text())
def test_any_text_gives_contacts_and_row_errors_or_a_file_error(text: str) -> None:
    try:
        contacts, errors = parse_contacts_csv(text, "US")
    except ContactsFileError:
        return
    assert all(isinstance(e, RowError) and e.line >= 2 for e in errors)
    assert all("\n" not in e.reason for e in errors)
    assert len({c.number for c in contacts}) == len(contacts)


cell = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\x00")),
    st.from_regex(r"\+?[0-9 ()-]{0,16}", fullmatch=True),
    st.sampled_from([JANE, OMAR, "jane@example.com", "a;b", '"', ","]),
)


@PROPERTY
@given(st.lists(st.lists(cell, max_size=6), max_size=15))
def test_rows_under_a_good_header_never_raise_and_give_e164_numbers(
    rows: list[list[str]],
) -> None:
    body = "\n".join(",".join(row) for row in rows)
    contacts, errors = parse_contacts_csv("phone,name,email,tags\n" + body, "US")
    for contact in contacts:
        parsed = phonenumbers.parse(contact.number)
        assert phonenumbers.format_number(parsed, 0) == contact.number
    assert len({c.number for c in contacts}) == len(contacts)
    assert all("\n" not in e.reason for e in errors)


# --- the command --------------------------------------------------------------------


async def run_import(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "tools.import_contacts", *args],
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


MIXED = f"""phone,name,email,tags
{JANE},Jane,jane@example.com,vip;new
+1555,Too Short,,
{OMAR},Omar,,
(415) 555-2671,Jane Again,,
+16505550100,Ana,ana@example,
+16505550101,Ben,,
"""


async def test_the_command_imports_good_rows_and_names_each_bad_line(
    tmp_path: Path, redis_server: RedisServer, store: ContactStore
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(MIXED)
    code, out, err = await run_import(
        str(path), "--redis-url", redis_server.url, "--default-region", "US"
    )
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "line 3: +1555: not a possible phone number (too short)",
        "line 5: (415) 555-2671: same number as line 2 (+14155552671)",
        "line 6: ana@example: not an email address (no dot inside the domain)",
        "imported 3 contacts (3 created, 0 updated), 3 rows rejected",
    ]
    assert await store.count() == 3
    jane = await store.get(JANE)
    assert jane is not None and jane.name == "Jane" and jane.tags == ("vip", "new")
    assert jane.source == "import"
    assert await store.get("+16505550100") is None


async def test_re_importing_an_updated_file_updates_names_and_keeps_created_at(
    tmp_path: Path, redis_server: RedisServer, store: ContactStore
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(f"phone,name\n{JANE},Jane\n{OMAR},Omar\n")
    assert (await run_import(str(path), "--redis-url", redis_server.url))[0] == 0
    before = await store.get(JANE)
    path.write_text(f"phone,name\n{JANE},Jane Doe\n{OMAR},\n")
    code, out, _ = await run_import(str(path), "--redis-url", redis_server.url)
    assert code == 0
    assert out == "imported 2 contacts (0 created, 2 updated), 0 rows rejected\n"
    after = await store.get(JANE)
    assert before is not None and after is not None
    assert after.name == "Jane Doe" and after.created_at == before.created_at
    assert after.updated_at >= before.updated_at
    omar = await store.get(OMAR)
    assert omar is not None and omar.name == "Omar"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,email\nJane,jane@example.com\n", "no phone column"),
        (b"phone\n\xff\xfe+14155552671\n", "not UTF-8"),
        (None, "cannot read"),
    ],
)
async def test_a_file_level_error_exits_2_and_writes_nothing(
    tmp_path: Path,
    redis_server: RedisServer,
    db: Redis,
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / "contacts.csv"
    if content is not None:
        path.write_bytes(content)
    code, out, err = await run_import(str(path), "--redis-url", redis_server.url)
    assert (code, out) == (2, "")
    assert message in err and len(err.splitlines()) == 1
    assert await db.dbsize() == 0


async def test_a_dry_run_reports_and_writes_nothing(
    tmp_path: Path, redis_server: RedisServer, db: Redis
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(MIXED)
    code, out, _ = await run_import(
        str(path),
        "--redis-url",
        redis_server.url,
        "--default-region",
        "US",
        "--dry-run",
    )
    assert code == 1
    assert out.splitlines()[-1] == "dry run: 3 contacts to import, 3 rows rejected"
    assert await db.dbsize() == 0


async def test_an_unreachable_redis_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(f"phone\n{JANE}\n")
    url = f"redis://127.0.0.1:{free_port()}/0"
    code, out, err = await run_import(str(path), "--redis-url", url)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: cannot reach Redis at {url}")
    assert len(err.splitlines()) == 1 and "Traceback" not in err
