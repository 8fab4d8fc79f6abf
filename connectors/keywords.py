"""Twilio's opt-out, opt-in and help words, matched the way Twilio matches them.

Twilio blocks a number after STOP and unblocks it after START by its own rules;
our suppression list must agree with Twilio's, or we either text someone who
opted out or stay silent to someone Twilio would deliver to. So matching is as
strict as Twilio's: the bare word, case-insensitive, surrounding whitespace
ignored, nothing else ("Stop." or "stop please" are ordinary messages). Pure.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Keyword(enum.Enum):
    """What a bare keyword asks for."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


#: Twilio's default keywords. A Messaging Service with Advanced Opt-Out can change
#: its lists; the channel's `opt_out_words`, `opt_in_words` and `help_words`
#: (connectors/settings.py) must then say the same.
OPT_OUT_WORDS = (
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
)
OPT_IN_WORDS = ("START", "YES", "UNSTOP")
HELP_WORDS = ("HELP", "INFO")
#: An opt-out word customers also text meaning something else ("cancel" an
#: appointment): after START, such a customer is told how to say it instead.
AMBIGUOUS_OPT_OUT = "CANCEL"


@dataclass(frozen=True)
class Keywords:
    """Which bare words opt out, opt in and ask for help."""

    opt_out: tuple[str, ...] = OPT_OUT_WORDS
    opt_in: tuple[str, ...] = OPT_IN_WORDS
    help: tuple[str, ...] = HELP_WORDS

    def __post_init__(self) -> None:
        lists = (self.opt_out, self.opt_in, self.help)
        for words in lists:
            if not all(w.isascii() and w.isalpha() and w.isupper() for w in words):
                raise ValueError(f"keywords must be upper-case ASCII words: {words}")
        # Advanced Opt-Out can remove any default keyword but these three.
        for word, words, kind in (
            ("STOP", self.opt_out, "an opt-out"),
            ("START", self.opt_in, "an opt-in"),
            ("HELP", self.help, "a help"),
        ):
            if word not in words:
                raise ValueError(f"{word} must stay {kind} word (Twilio keeps it)")
        every = [w for words in lists for w in words]
        twice = sorted({w for w in every if every.count(w) > 1})
        if twice:
            raise ValueError(f"a word can be in one list only: {twice}")

    def keyword(self, body: str) -> Keyword | None:
        """The keyword a message body is, if it is exactly one (bare word only).

        Only ASCII letters count: `str.upper` maps "ſtop" (long s) to "STOP", and
        Twilio's own matching is not known to do that.
        """
        word = body.strip()
        if not word.isascii():
            return None
        word = word.upper()
        if word in self.opt_out:
            return Keyword.OPT_OUT
        if word in self.opt_in:
            return Keyword.OPT_IN
        if word in self.help:
            return Keyword.HELP
        return None


TWILIO_DEFAULTS = Keywords()


def keyword(body: str) -> Keyword | None:
    """The keyword `body` is under Twilio's default lists."""
    return TWILIO_DEFAULTS.keyword(body)
