"""Opt-out words: only the bare word counts, matched as Twilio matches it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.keywords import Keyword, keyword
from tests.properties import property_settings

PROPERTY = property_settings(max_examples=300)

OPT_OUT = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
]
OPT_IN = ["START", "YES", "UNSTOP"]
HELP = ["HELP", "INFO"]


@pytest.mark.parametrize("body", ["stop", " STOP ", "Stop", "\nsToP\t", "cancel"])
def test_bare_stop_words_opt_out(body: str) -> None:
    assert keyword(body) is Keyword.OPT_OUT


@pytest.mark.parametrize(
    ("words", "kind"),
    [(OPT_OUT, Keyword.OPT_OUT), (OPT_IN, Keyword.OPT_IN), (HELP, Keyword.HELP)],
)
def test_every_default_word(words: list[str], kind: Keyword) -> None:
    for word in words:
        assert keyword(word) is kind
        assert keyword(word.lower()) is kind
        assert keyword(f"  {word.title()}\r\n") is kind


@pytest.mark.parametrize(
    "body",
    [
        "stop please",
        "don't stop",
        "cancel my appt",
        "Stop.",
        "STOP!",
        "s t o p",
        "stopp",
        "",
        "   ",
        "yes please",
        "help me",
        "\u017ftop",  # long s: "ſtop".upper() == "STOP", Twilio would not match it
        "ＳＴＯＰ",  # fullwidth letters
    ],
)
def test_anything_else_is_an_ordinary_message(body: str) -> None:
    assert keyword(body) is None


@PROPERTY
@given(st.text(max_size=30))
def test_a_keyword_is_always_one_known_word(body: str) -> None:
    if keyword(body) is not None:
        assert body.strip().upper() in OPT_OUT + OPT_IN + HELP
