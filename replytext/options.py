"""Numbered options: written into the message as "Reply 1 for X, 2 for Y or 3 for
Z.", and `resolve_choice` reads the customer's answer ("2", "the second", "10am")
back into the option's payload."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """One numbered choice put to the customer."""

    title: str  # what the customer sees, e.g. "9:00am"
    payload: str  # what a pick of this option means, e.g. an ISO datetime


def with_options(text: str, options: Sequence[Option]) -> str:
    """The numbered choices go in the same message, so one SMS is one question."""
    if not options:
        return text
    listing = join_words([f"{k} for {o.title}" for k, o in enumerate(options, 1)], "or")
    text = text.strip()
    if not text:
        return f"Reply {listing}."
    if not text.endswith(tuple(".!?:")):
        text += "."
    return f"{text} Reply {listing}."


_NUMBER_WORDS = tuple("one two three four five six seven eight nine".split())
_ORDINAL_WORDS = tuple(
    "first second third fourth fifth sixth seventh eighth ninth".split()
)
_LEAD = re.compile(
    r"^(?:(?:ok(?:ay)?|sure|yes|yeah|yep|please|pls|i'?ll take|i'?ll do|i'?d like|"
    r"let'?s do|let'?s go with|go with|take|pick|i choose|choose|number|num|option|"
    r"opt|choice|the)\b\s*|#\s*)+"
)
_TRAIL = re.compile(
    r"(?:\s+(?:one|option|please|pls|plz|thanks|thank you|thx|ty|works|is good|"
    r"is fine|is perfect|for me))+$"
)
_NEGATION = re.compile(r"\b(?:no|not|nope|nah|dont|don't|never)\b")
_SPACES = re.compile(r"\s+")
_CLOCK = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\b\.?")


def _normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'")
    text = _CLOCK.sub(lambda m: f"{int(m[1])}:{m[2] or '00'}{m[3]}m", text)
    text = re.sub(r"[^\w:#'\s]", " ", text)
    return _SPACES.sub(" ", text).strip()


def _number_pick(text: str) -> int | None:
    text = _TRAIL.sub("", _LEAD.sub("", text)).strip()
    if text == "last":
        return -1
    if match := re.fullmatch(r"(\d{1,3})(?:st|nd|rd|th)?", text):
        return int(match[1])
    for words in (_NUMBER_WORDS, _ORDINAL_WORDS):
        if text in words:
            return words.index(text) + 1
    return None


def _contains(words: list[str], part: list[str]) -> bool:
    n = len(part)
    return n > 0 and any(words[i : i + n] == part for i in range(len(words) - n + 1))


def resolve_choice(reply: str, options: Sequence[Option]) -> str | None:
    """The payload of the option the reply picks, or None if it picks none.

    A number ("2", "#2", "option 2", "two", "the second", "2nd one", "last") picks
    by position; out of range is no pick. Otherwise the reply must name exactly one
    option's title ("10am" for "Thu Mar 5 10:00am", "cleaning"). A reply with a
    negation ("no 2", "not 10am") is never a pick: "no" means the customer declines.
    """
    text = _normalise(reply)
    if not text or not options or _NEGATION.search(text):
        return None
    number = _number_pick(text)
    if number is not None:
        if number == -1:
            return options[-1].payload
        return options[number - 1].payload if 1 <= number <= len(options) else None
    if re.fullmatch(r"[\d\s#]+", text):
        return None
    core = _TRAIL.sub("", _LEAD.sub("", text)).strip() or text
    if len(core) < 3 and not any(ch.isdigit() for ch in core):
        return None
    said, words = text.split(), core.split()
    loose = not re.search(r"\d[ap]m\b", core)  # "11:15" may name "11:15am"
    matches = []
    for option in options:
        title = _normalise(option.title).split()
        no_meridiem = [re.sub(r"(?<=\d)[ap]m$", "", w) for w in title]
        if (
            _contains(title, words)
            or _contains(said, title)
            or (loose and _contains(no_meridiem, words))
        ):
            matches.append(option)
    payloads = {o.payload for o in matches}
    return matches[0].payload if len(payloads) == 1 else None


def join_words(items: Sequence[str], conj: str = "and") -> str:
    """ "a", "a and b", "a, b and c" (no serial comma, it reads as one more item)."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"
