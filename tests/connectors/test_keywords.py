"""Opt-out words: only the bare word counts, matched as Twilio matches it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.keywords import Keyword, Keywords, keyword
from connectors.settings import SettingsError, SmsSettings
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


def test_a_business_can_change_the_lists_as_its_messaging_service_did() -> None:
    """Advanced Opt-Out: CANCEL taken off the opt-out list, ARRET added."""
    words = Keywords(opt_out=("STOP", "ARRET"), opt_in=("START",), help=("HELP",))
    assert words.keyword("arret") is Keyword.OPT_OUT
    assert words.keyword("cancel") is None  # an ordinary text: a bot turn
    assert words.keyword("yes") is None
    assert keyword("cancel") is Keyword.OPT_OUT  # Twilio's defaults unchanged


@pytest.mark.parametrize(
    ("lists", "says"),
    [
        ({"opt_out": ("UNSUBSCRIBE",)}, "STOP must stay an opt-out word"),
        ({"opt_in": ("UNSTOP",)}, "START must stay an opt-in word"),
        ({"help": ("INFO",)}, "HELP must stay a help word"),
        ({"opt_in": ("START", "STOP")}, "one list only: ['STOP']"),
        ({"help": ("HELP", "HELP ME")}, "upper-case ASCII words"),
    ],
)
def test_lists_that_would_lose_opt_outs_are_refused(
    lists: dict[str, tuple[str, ...]], says: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        Keywords(**lists)


def test_the_lists_are_channel_settings() -> None:
    base = {
        "account_sid": "AC" + "0" * 32,
        "auth_token": "t",
        "public_url": "https://b.example.com",
        "numbers": "+15017122661",
    }
    settings = SmsSettings.from_credentials(
        {**base, "opt_out_words": "stop, arret", "opt_in_words": ["start"]}
    )
    assert settings.keywords.keyword("Arret") is Keyword.OPT_OUT
    assert settings.keywords.keyword("yes") is None
    assert settings.keywords.help == ("HELP", "INFO")
    with pytest.raises(SettingsError, match="STOP must stay"):
        SmsSettings.from_credentials({**base, "opt_out_words": "quit"})
