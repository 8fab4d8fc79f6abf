"""Twilio's opt-out, opt-in and help words, matched the way Twilio matches them.

Twilio blocks a number after STOP and unblocks it after START by its own rules;
our suppression list must agree with Twilio's, or we either text someone who
opted out or stay silent to someone Twilio would deliver to. So matching is as
strict as Twilio's: the bare word, case-insensitive, surrounding whitespace
ignored, nothing else ("Stop." or "stop please" are ordinary messages). Pure.
"""

from __future__ import annotations

import enum


class Keyword(enum.Enum):
    """What a bare keyword asks for."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


_WORDS: dict[str, Keyword] = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"),
        Keyword.OPT_OUT,
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP"), Keyword.OPT_IN),
    **dict.fromkeys(("HELP", "INFO"), Keyword.HELP),
}


def keyword(body: str) -> Keyword | None:
    """The keyword a message body is, if it is exactly one (bare word only).

    Only ASCII letters count: `str.upper` maps "ſtop" (long s) to "STOP", and
    Twilio's own matching is not known to do that.
    """
    word = body.strip()
    if not word.isascii():
        return None
    return _WORDS.get(word.upper())
