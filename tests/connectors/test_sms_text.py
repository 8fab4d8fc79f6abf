"""SMS shaping: GSM-7 look-alikes, segment counting, one message, a whole turn."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from connectors.sms_text import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    SegmentInfo,
    SmsPart,
    gsm7_lookalikes,
    gsm7_units,
    is_gsm7,
    segment_info,
    segment_parts,
    shape_message,
    shape_turn,
    ucs2_units,
)
from replytext.options import Option, with_options
from replytext.plain import plain_text
from tests.properties import property_settings

PROPERTY = property_settings(max_examples=300)

LOOKALIKES = "\u2018\u2019\u201c\u201d\u2013\u2014\u2212\u2010\u2026\u2022\u00a0\u2009\u202f\u3000\u200b\u200d\ufeff"
GSM7 = GSM7_BASIC + GSM7_EXTENSION
EMOJI = "\U0001f600"  # two UTF-16 units

gsm7_text = st.text(alphabet=GSM7, max_size=600)
any_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(GSM7 + LOOKALIKES + " " * 10 + ".!?" + EMOJI + "ж"),
        st.characters(),
    ),
    max_size=600,
)
max_lengths = st.one_of(
    st.integers(min_value=50, max_value=200), st.integers(min_value=50, max_value=1600)
)
max_parts = st.integers(min_value=1, max_value=10)

# Prose-like messages long enough to need several bodies: words (now and then
# one longer than any body), sentence ends, odd spacing, emoji and look-alikes.
word_chars = st.one_of(
    st.sampled_from("abcdefghijklmnopqrstuvwxyz€ж" + EMOJI + LOOKALIKES[:9]),
    st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs")),
)
word = st.one_of(
    st.text(alphabet=word_chars, min_size=1, max_size=12),
    st.text(alphabet=word_chars, min_size=40, max_size=250),
)
gap = st.sampled_from([" ", " ", " ", " ", ". ", "! ", "? ", ".\n", "  ", "\t"])
prose = st.lists(st.tuples(word, gap), max_size=120).map(
    lambda pairs: "".join(w + g for w, g in pairs)
)
gsm7_word = st.text(alphabet="abcdefgh€[]{}0123456789,;:'", min_size=1, max_size=70)
gsm7_gap = gap.filter(is_gsm7)  # a tab is not GSM-7
gsm7_prose = st.lists(st.tuples(gsm7_word, gsm7_gap), max_size=120).map(
    lambda pairs: "".join(w + g for w, g in pairs)
)


def words(text: str) -> list[str]:
    return text.split()


def squashed(text: str) -> str:
    return "".join(text.split())


# --- character sets ------------------------------------------------------------


def test_charsets_are_the_gsm_03_38_tables() -> None:
    assert len(GSM7_BASIC) == len(set(GSM7_BASIC)) == 127  # 128 codes minus escape
    assert len(GSM7_EXTENSION) == len(set(GSM7_EXTENSION)) == 10
    assert not set(GSM7_BASIC) & set(GSM7_EXTENSION)
    for char in "\n\r @£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà09AZaz":
        assert char in GSM7_BASIC
    assert set(GSM7_EXTENSION) == set("\f^{}\\[~]|€")


@pytest.mark.parametrize(
    ("text", "gsm"),
    [("Hello!", True), ("price: 10€ [x]", True), ("`code`", False), ("ж", False)],
)
def test_is_gsm7(text: str, gsm: bool) -> None:
    assert is_gsm7(text) is gsm


def test_units() -> None:
    assert gsm7_units("abc") == 3
    assert gsm7_units("a€{") == 5  # extension characters take an escape too
    assert ucs2_units("abc") == 3
    assert ucs2_units(f"a{EMOJI}") == 3  # an emoji is a surrogate pair
    with pytest.raises(ValueError, match="not a GSM-7 character"):
        gsm7_units("ж")


# --- look-alikes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We\u2019re \u201copen\u201d \u2018now\u2019", "We're \"open\" 'now'"),
        ("9\u20135 \u2014 Mon\u2212Fri", "9-5 - Mon-Fri"),
        ("wait\u2026", "wait..."),
        ("a\u00a0b\u2009c\u202fd\u3000e", "a b c d e"),
        ("ab\u200bc\ufeffd", "abcd"),
        ("\u2022 cleaning", "- cleaning"),
        (f"see you {EMOJI}", f"see you {EMOJI}"),
        ("\u0436\u00e9", "\u0436\u00e9"),  # no look-alike: kept (UCS-2 is right)
    ],
)
def test_lookalikes_become_gsm7(text: str, expected: str) -> None:
    assert gsm7_lookalikes(text) == expected


def test_zero_width_joiner_is_kept_only_inside_a_ucs2_text() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert gsm7_lookalikes(f"Hi {family}") == f"Hi {family}"
    assert gsm7_lookalikes("a\u200db") == "ab"


@PROPERTY
@given(any_text)
def test_lookalikes_are_idempotent(text: str) -> None:
    once = gsm7_lookalikes(text)
    assert gsm7_lookalikes(once) == once


@PROPERTY
@given(st.text(alphabet=GSM7 + LOOKALIKES, max_size=300))
def test_gsm7_with_lookalikes_becomes_gsm7(text: str) -> None:
    assert is_gsm7(gsm7_lookalikes(text))


# --- segments ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),  # nothing to send
        ("a", "GSM-7", 1, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("a" * 152 + "€", "GSM-7", 154, 1),
        ("a" * 153 + "€", "GSM-7", 155, 1),
        ("a" * 158 + "€", "GSM-7", 160, 1),
        ("a" * 159 + "€", "GSM-7", 161, 2),
        ("€" * 80, "GSM-7", 160, 1),
        ("€" * 81, "GSM-7", 162, 2),
        # 306 units is 2 parts by division, but the € may not straddle: 3
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
        ("ж" * 70, "UCS-2", 70, 1),
        ("ж" * 71, "UCS-2", 71, 2),
        ("ж" * 134, "UCS-2", 134, 2),
        ("ж" * 135, "UCS-2", 135, 3),
        ("a" * 159 + "ж", "UCS-2", 160, 3),  # one non-GSM character: all UCS-2
        (EMOJI * 35, "UCS-2", 70, 1),
        (EMOJI * 36, "UCS-2", 72, 2),
        ("`", "UCS-2", 1, 1),
    ],
)
def test_segment_info_examples(
    text: str, encoding: Encoding, units: int, segments: int
) -> None:
    assert segment_info(text) == SegmentInfo(encoding, units, segments)


def test_two_unit_characters_never_straddle_a_part() -> None:
    assert [len(p) for p in segment_parts("a" * 159 + "€")] == [153, 7]
    assert segment_parts("a" * 152 + "€" + "a" * 152) == [
        "a" * 152,
        "€" + "a" * 151,
        "a",
    ]
    assert segment_parts("ж" * 66 + EMOJI + "жжж") == ["ж" * 66, EMOJI + "жжж"]
    assert segment_parts(EMOJI * 36) == [EMOJI * 33, EMOJI * 3]
    assert segment_parts("") == []
    assert segment_parts("hi") == ["hi"]


@PROPERTY
@given(st.text(alphabet=GSM7_BASIC, max_size=2000))
def test_each_gsm7_basic_part_fits_one_segment(text: str) -> None:
    assert all(gsm7_units(p) <= 153 for p in segment_parts(text) if len(text) > 160)


@PROPERTY
@given(st.one_of(st.text(alphabet=GSM7, max_size=1000), any_text))
def test_parts_give_back_the_text_and_fit_their_budget(text: str) -> None:
    parts = segment_parts(text)
    info = segment_info(text)
    assert "".join(parts) == text
    assert len(parts) == info.segments
    assert all(parts)
    units, single, budget = (
        (gsm7_units, 160, 153) if is_gsm7(text) else (ucs2_units, 70, 67)
    )
    assert info.units == units(text)
    assert (len(parts) <= 1) == (info.units <= single)
    if len(parts) > 1:
        assert all(units(p) <= budget for p in parts)
        # packed greedily: the next character did not fit in the previous part
        for part, following in zip(parts, parts[1:], strict=False):
            assert units(part + following[0]) > budget


# --- one message -----------------------------------------------------------------


def test_shape_message_strips_markup() -> None:
    text = "**Hi** _there_, see [our site](https://x.example) <b>now</b>"
    assert shape_message(text) == "Hi there, see our site (https://x.example) now"


def test_shape_message_numbers_buttons_in_the_same_message() -> None:
    buttons = [
        {"title": "9:00am", "payload": "/pick_time{'t':'09:00'}"},
        {"title": "10:00am", "payload": "/pick_time{'t':'10:00'}"},
        {"title": "**11:00am**", "payload": "/pick_time{'t':'11:00'}"},
    ]
    assert shape_message("When works for you?", buttons) == (
        "When works for you? Reply 1 for 9:00am, 2 for 10:00am or 3 for 11:00am."
    )


def test_shape_message_uses_the_actions_wording() -> None:
    buttons = [
        {"title": "Cleaning", "payload": "a"},
        {"title": "Filling", "payload": "b"},
    ]
    options = [Option("Cleaning", "a"), Option("Filling", "b")]
    expected = with_options(plain_text("Which service"), options)
    assert shape_message("Which service", buttons) == expected
    assert expected == "Which service. Reply 1 for Cleaning or 2 for Filling."
    assert shape_message("", buttons) == "Reply 1 for Cleaning or 2 for Filling."


def test_shape_message_button_without_title_keeps_its_number() -> None:
    buttons = [{"title": "", "payload": "yes"}, {"title": "No", "payload": "no"}]
    assert shape_message("OK?", buttons) == "OK? Reply 1 for yes or 2 for No."


def test_shape_message_swaps_lookalikes() -> None:
    shaped = shape_message("We\u2019re open \u201c9\u20135\u201d\u2026 see\u200b you")
    assert shaped == 'We\'re open "9-5"... see you'
    assert is_gsm7(shaped)
    assert (
        shape_message("Closed &hellip; sorry &ndash; &rsquo;") == "Closed ... sorry - '"
    )


def test_shape_message_keeps_emoji() -> None:
    shaped = shape_message(f"See you soon {EMOJI}")
    assert shaped == f"See you soon {EMOJI}"
    assert segment_info(shaped).encoding == "UCS-2"


@PROPERTY
@given(any_text, st.lists(st.fixed_dictionaries({"title": any_text}), max_size=4))
def test_shape_message_is_one_clean_line(
    text: str, buttons: list[dict[str, str]]
) -> None:
    shaped = shape_message(text, buttons)
    assert "\n" not in shaped and "  " not in shaped
    assert shaped == shaped.strip()
    assert gsm7_lookalikes(shaped) == shaped


# --- a whole turn ------------------------------------------------------------------


def test_shape_turn_joins_a_turn_into_one_sms() -> None:
    parts = shape_turn(["Hi, I'm the booking assistant.", "", "  ", "How can I help?"])
    assert parts == [
        SmsPart("Hi, I'm the booking assistant.\nHow can I help?", "GSM-7", 1)
    ]


def test_shape_turn_of_nothing_sends_nothing() -> None:
    assert shape_turn([]) == []
    assert shape_turn(["", " \n "]) == []


def test_a_message_that_does_not_fit_starts_a_new_body() -> None:
    first, second = "a" * 60, "b" * 45
    parts = shape_turn([first, second], max_length=100)
    assert [p.body for p in parts] == [first, second]
    assert [p.body for p in shape_turn(["a" * 54, "b" * 45], max_length=100)] == [
        "a" * 54 + "\n" + "b" * 45
    ]


def test_a_long_message_splits_at_sentence_ends() -> None:
    sentence = "This sentence is exactly forty chars ok."
    assert len(sentence) == 40
    parts = shape_turn([" ".join([sentence] * 6)], max_length=100)
    assert [p.body for p in parts] == [f"{sentence} {sentence}"] * 3


def test_an_early_sentence_end_is_not_worth_a_part() -> None:
    text = "Hi. " + "word " * 40
    parts = shape_turn([text], max_length=100)
    assert parts[0].body.startswith("Hi. word")
    assert all(len(p.body) > 90 for p in parts[:-1])


def test_a_long_message_splits_at_words_else_hard() -> None:
    text = " ".join(["abcdefghi"] * 30)  # 299 characters, no sentence end
    parts = shape_turn([text], max_length=100)
    assert all(len(p.body) <= 100 and p.body.endswith("abcdefghi") for p in parts)
    assert words("\n".join(p.body for p in parts)) == words(text)
    assert [p.body for p in shape_turn(["x" * 250], max_length=100)] == [
        "x" * 100,
        "x" * 100,
        "x" * 50,
    ]


def test_a_hard_cut_never_splits_a_surrogate_pair() -> None:
    pair = "\ud83d\ude00"  # a str may hold an emoji as its two UTF-16 halves
    parts = shape_turn([pair * 60], max_length=51, max_parts=10)
    assert "".join(p.body for p in parts) == pair * 60
    assert all(len(p.body) % 2 == 0 for p in parts)


def test_too_many_parts_truncates_with_ascii_dots() -> None:
    text = "Our opening hours are long and the list of services is longer, " * 20
    parts = shape_turn([text], max_length=160, max_parts=2)
    assert len(parts) == 2
    last = parts[-1].body
    assert last.endswith("...") and not last.endswith(" ...")
    assert len(last) <= 160
    assert all(p.encoding == "GSM-7" for p in parts)
    assert "\u2026" not in last
    one = shape_turn(["x" * 400], max_length=100, max_parts=1)
    assert [p.body for p in one] == ["x" * 97 + "..."]


def test_parts_carry_their_segments() -> None:
    parts = shape_turn(["a" * 300, f"ok {EMOJI}"], max_length=400)
    assert parts == [SmsPart("a" * 300 + f"\nok {EMOJI}", "UCS-2", 5)]


@pytest.mark.parametrize(
    ("max_length", "max_parts"), [(49, 3), (1601, 3), (160, 0), (160, 11)]
)
def test_limits_are_checked(max_length: int, max_parts: int) -> None:
    with pytest.raises(ValueError, match="max_"):
        shape_turn(["hi"], max_length=max_length, max_parts=max_parts)


def test_limit_edges_are_allowed() -> None:
    assert shape_turn(["hi"], max_length=50, max_parts=1)
    assert shape_turn(["hi"], max_length=1600, max_parts=10)


messages = st.lists(st.one_of(prose, any_text, gsm7_text), max_size=6)


@PROPERTY
@given(messages, max_lengths, max_parts)
def test_every_part_fits_and_is_clean(
    msgs: list[str], max_length: int, parts_cap: int
) -> None:
    parts = shape_turn(msgs, max_length, parts_cap)
    assert len(parts) <= parts_cap
    for part in parts:
        assert 0 < len(part.body) <= max_length
        assert part.body == part.body.strip()
        info = segment_info(part.body)
        assert (part.encoding, part.segments) == (info.encoding, info.segments)
    assert bool(parts) == any(m.strip() for m in msgs)


@PROPERTY
@given(st.lists(st.one_of(prose, any_text), max_size=4), max_lengths)
def test_without_truncation_no_text_is_lost_or_invented(
    msgs: list[str], max_length: int
) -> None:
    parts = shape_turn(msgs, max_length, 10)
    assume(len(parts) < 10)
    bodies = [p.body for p in parts]
    assert squashed("".join(bodies)) == squashed("".join(msgs))
    if all(len(w) <= max_length for w in words(" ".join(msgs))):
        assert words("\n".join(bodies)) == words("\n".join(msgs))


@PROPERTY
@given(st.lists(st.one_of(gsm7_prose, gsm7_text), max_size=6), max_lengths, max_parts)
def test_gsm7_input_gives_gsm7_parts(
    msgs: list[str], max_length: int, parts_cap: int
) -> None:
    for part in shape_turn(msgs, max_length, parts_cap):
        assert is_gsm7(part.body) and part.encoding == "GSM-7"


@PROPERTY
@given(st.lists(prose, min_size=1, max_size=6), max_lengths, max_parts)
def test_truncation_keeps_a_prefix_and_marks_it(
    msgs: list[str], max_length: int, parts_cap: int
) -> None:
    full = shape_turn(msgs, max_length, 10)
    parts = shape_turn(msgs, max_length, parts_cap)
    if len(full) <= parts_cap:
        assert parts == full
    else:
        assert parts[:-1] == full[: parts_cap - 1]
        last = parts[-1].body
        assert last.endswith("...")
        assert full[parts_cap - 1].body.startswith(last[:-3])
