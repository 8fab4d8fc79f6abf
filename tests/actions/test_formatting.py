"""The plain-text formatter, numbered options and date/money formatting."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actions.formatting import format_day, format_money, format_time, format_when
from replytext.options import Option, join_words, resolve_choice, with_options
from replytext.plain import plain_text
from tests.properties import property_settings

NY = ZoneInfo("America/New_York")
PROPERTY = property_settings(max_examples=300)
HTML_TAG = re.compile(r"<[a-zA-Z/][^>]*>")
MD_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)")
NUMBER_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
]

FRAGMENTS = [
    "**",
    "__",
    "*",
    "_",
    "`",
    "```",
    "# ",
    "## ",
    "> ",
    ">",
    "- ",
    "* ",
    "+ ",
    "\n",
    "\n\n",
    "  ",
    "\t",
    "[",
    "]",
    "(",
    ")",
    "[label](http://x.y/z)",
    "![img](a.png)",
    "<b>",
    "</b>",
    "<br>",
    "<br/>",
    "<p>",
    "</p>",
    "<a href='x'>",
    "<",
    ">",
    "&amp;",
    "&lt;",
    "&gt;",
    "&lt;b&gt;",
    "&nbsp;",
    "&#35;",
    "&#62;",
    "&quot;",
    "&#96;",
    "**bold**",
    "_em_",
    "*em*",
    "`code`",
    "Reply 1 for 9:00am",
    "snake_case",
]
marked_up = st.lists(
    st.one_of(st.text(max_size=8), st.sampled_from(FRAGMENTS)), max_size=25
).map("".join)
any_text = st.one_of(st.text(), marked_up)


def assert_plain(out: str) -> None:
    for marker in ("**", "__", "`", "  ", "\n"):
        assert marker not in out
    assert not MD_LINK.search(out), out
    assert not HTML_TAG.search(out), out
    assert not out.startswith(("#", ">")), out
    assert out == out.strip()


# --- plain_text --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("**Booked** for __Thu__", "Booked for Thu"),
        ("*Tue* at _3pm_ with `Dr Lee`", "Tue at 3pm with Dr Lee"),
        ("# Hours\nMon-Fri 8-6", "Hours. Mon-Fri 8-6"),
        ("Thu Mar 5\n9:00am", "Thu Mar 5 9:00am"),
        ("## Hours\nWe open at 8.", "Hours. We open at 8."),
        ("> You said:\n> tmrw 3", "You said: tmrw 3"),
        (
            "We offer\n- cleaning\n- checkup\n- whitening",
            "We offer: cleaning, checkup, whitening",
        ),
        ("* Bring your card.\n* Arrive early.", "Bring your card. Arrive early."),
        ("- one\n- two\nCall us", "one, two. Call us"),
        (
            "See [our map](https://maps.example/x)",
            "See our map (https://maps.example/x)",
        ),
        ("[https://x.y](https://x.y)", "https://x.y"),
        ("<p>Hi <b>Sam</b></p><p>See you</p>", "Hi Sam. See you"),
        ("Line<br>break", "Line break"),
        ("Tom &amp; Jerry &lt;3", "Tom & Jerry <3"),
        ("&lt;b&gt;bold&lt;/b&gt;", "bold"),
        ("  lots \n\n of\tspace  ", "lots of space"),
        ("5 * 3 = 15, snake_case stays", "5 * 3 = 15, snake_case stays"),
        (
            "Reply 1 for 9:00am or 2 for 10:00am.",
            "Reply 1 for 9:00am or 2 for 10:00am.",
        ),
        ("", ""),
    ],
)
def test_plain_text_examples(raw: str, plain: str) -> None:
    assert plain_text(raw) == plain


@PROPERTY
@given(any_text)
def test_plain_text_leaves_no_markup_or_extra_whitespace(text: str) -> None:
    assert_plain(plain_text(text))


@PROPERTY
@given(any_text)
def test_plain_text_is_idempotent(text: str) -> None:
    once = plain_text(text)
    assert plain_text(once) == once


# --- options -----------------------------------------------------------------

TIMES = [Option("9:00am", "a"), Option("10:00am", "b"), Option("11:15am", "c")]
SERVICES = [
    Option("cleaning", "cleaning"),
    Option("checkup", "checkup"),
    Option("emergency visit", "emergency"),
]


def test_with_options_reads_as_one_sentence() -> None:
    assert with_options("Thu Mar 5 has three free times.", TIMES) == (
        "Thu Mar 5 has three free times. Reply 1 for 9:00am, 2 for 10:00am or 3 for "
        "11:15am."
    )
    assert with_options("Pick a time", TIMES[:2]) == (
        "Pick a time. Reply 1 for 9:00am or 2 for 10:00am."
    )
    assert with_options("Nearby:", TIMES[:1]) == "Nearby: Reply 1 for 9:00am."
    assert with_options("", TIMES[:1]) == "Reply 1 for 9:00am."
    assert with_options("No options.", []) == "No options."


@pytest.mark.parametrize(
    "reply",
    [
        "2",
        " 2 ",
        "2.",
        "#2",
        "option 2",
        "Option #2",
        "number 2",
        "two",
        "Two!",
        "the second",
        "second one",
        "2nd",
        "the 2nd one",
        "ok 2 please",
        "10am",
        "10:00am",
        "10 AM",
        "10:00",
        "the 10am one",
    ],
)
def test_resolve_choice_picks_the_second_time(reply: str) -> None:
    assert resolve_choice(reply, TIMES) == "b"


@pytest.mark.parametrize(
    "reply",
    [
        "no 2",
        "not 2",
        "no",
        "nope",
        "4",
        "0",
        "10",
        "12345",
        "2 or 3",
        "",
        "   ",
        "yes",
        "am",
        "maybe later",
        "not 10am",
        "9",
        "1:00pm",
    ],
)
def test_resolve_choice_rejects_non_picks(reply: str) -> None:
    assert resolve_choice(reply, TIMES) is None


def test_resolve_choice_by_title_words() -> None:
    assert resolve_choice("cleaning", SERVICES) == "cleaning"
    assert resolve_choice("a cleaning please", SERVICES) == "cleaning"
    assert resolve_choice("emergency", SERVICES) == "emergency"
    assert resolve_choice("I need a checkup", SERVICES) == "checkup"
    assert resolve_choice("no cleaning", SERVICES) is None
    assert resolve_choice("the last one", SERVICES) == "emergency"
    days = [Option("Thu Mar 5 9:00am", "x"), Option("Fri Mar 6 9:00am", "y")]
    assert resolve_choice("fri", days) == "y"
    assert resolve_choice("9am", days) is None  # names both
    assert resolve_choice("2", []) is None


distinct_options = st.lists(
    st.tuples(st.text(min_size=1, max_size=20), st.text(max_size=20)),
    min_size=1,
    max_size=9,
    unique_by=(lambda o: o[0], lambda o: o[1]),
).map(lambda pairs: [Option(title, payload) for title, payload in pairs])


@PROPERTY
@given(distinct_options, st.data())
def test_numbered_options_round_trip(
    options: list[Option], data: st.DataObject
) -> None:
    k = data.draw(st.integers(1, len(options)))
    payload = options[k - 1].payload
    assert resolve_choice(str(k), options) == payload
    assert resolve_choice(f" {k}. ", options) == payload
    assert resolve_choice(NUMBER_WORDS[k - 1], options) == payload
    assert resolve_choice(f"the {ORDINALS[k - 1]}", options) == payload
    out_of_range = data.draw(st.integers(len(options) + 1, 99) | st.just(0))
    assert resolve_choice(str(out_of_range), options) is None


@PROPERTY
@given(st.text(max_size=40), distinct_options)
def test_with_options_lists_every_number(text: str, options: list[Option]) -> None:
    out = with_options(text, options)
    for k, option in enumerate(options, 1):
        assert f"{k} for {option.title}" in out


# --- dates, times, money -----------------------------------------------------


@pytest.mark.parametrize(
    ("t", "text"),
    [
        (time(9), "9:00am"),
        (time(12), "12:00pm"),
        (time(0), "12:00am"),
        (time(0, 30), "12:30am"),
        (time(12, 45), "12:45pm"),
        (time(14, 30), "2:30pm"),
        (time(23, 59), "11:59pm"),
    ],
)
def test_format_time(t: time, text: str) -> None:
    assert format_time(t) == text
    assert format_time(datetime.combine(date(2026, 3, 5), t, tzinfo=NY)) == text


def test_format_day_and_when() -> None:
    assert format_day(date(2026, 3, 5)) == "Thu Mar 5"
    assert format_day(date(2026, 12, 25)) == "Fri Dec 25"
    assert format_when(datetime(2026, 3, 5, 11, 15, tzinfo=NY)) == "Thu Mar 5, 11:15am"
    assert format_when(datetime(2026, 3, 5, 12, 0, tzinfo=NY)) == "Thu Mar 5, 12:00pm"
    assert format_when(datetime(2026, 3, 6, 0, 0, tzinfo=NY)) == "Fri Mar 6, 12:00am"


def test_format_when_prints_wall_clock_across_dst() -> None:
    # Fall back, 2026-11-01: 1:30am happens twice; both print as the wall clock.
    first = datetime(2026, 11, 1, 1, 30, tzinfo=NY)
    second = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY)
    assert first.utcoffset() != second.utcoffset()
    assert format_when(first) == format_when(second) == "Sun Nov 1, 1:30am"
    # The same UTC hour reads an hour earlier once standard time starts.
    before = datetime(2026, 10, 31, 14, 0, tzinfo=timezone.utc).astimezone(NY)
    after = datetime(2026, 11, 1, 14, 0, tzinfo=timezone.utc).astimezone(NY)
    assert format_when(before) == "Sat Oct 31, 10:00am"
    assert format_when(after) == "Sun Nov 1, 9:00am"
    # Spring forward, 2026-03-08: 3:00am EDT follows 1:59am EST.
    jump = datetime(2026, 3, 8, 7, 0, tzinfo=timezone.utc).astimezone(NY)
    assert format_when(jump) == "Sun Mar 8, 3:00am"


def test_format_money_and_join_words() -> None:
    assert format_money(120) == "$120"
    assert format_money(0) == "$0"
    assert format_money(1250) == "$1,250"
    assert format_money(-25) == "-$25"
    assert join_words([]) == ""
    assert join_words(["a"]) == "a"
    assert join_words(["a", "b"]) == "a and b"
    assert join_words(["a", "b", "c"]) == "a, b and c"
    assert join_words(["a", "b", "c"], "or") == "a, b or c"
