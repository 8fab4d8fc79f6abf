"""Shaping a turn's bot messages into SMS bodies, and what each body will cost.

Twilio bills per segment, and a single character outside GSM-7 makes the whole
message UCS-2 (70 instead of 160 characters a segment). So every reply goes
through `shape_message` (plain text, buttons as a numbered list, typographic
look-alikes swapped for their GSM-7 twins), and a turn's replies are packed by
`shape_turn` into as few bodies as fit the configured length. Pure: no I/O, no
clock, no Rasa or Twilio imports, so all of it is property-tested.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from replytext.options import Option, with_options
from replytext.plain import plain_text

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 basic character set (the escape code 0x1B is not a character).
GSM7_BASIC: str = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs two units (escape + code).
GSM7_EXTENSION: str = "\f^{}\\[~]|€"

_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)

GSM7_SINGLE = 160
GSM7_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67

CUT_MARKER = "..."
MIN_LENGTH, MAX_LENGTH = 50, 1600
MIN_PARTS, MAX_PARTS = 1, 10

# --- GSM-7 look-alikes -------------------------------------------------------

_ZWJ = "\u200d"
_ZERO_WIDTH = "\u200b\u200c\u2060\ufeff\u00ad"  # ZWSP, ZWNJ, word joiner, BOM, SHY
_LOOKALIKES: dict[int, str | None] = {  # None: str.translate drops it
    **dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032\u00b4"), "'"),
    **dict.fromkeys(map(ord, "\u201c\u201d\u201e\u201f\u2033"), '"'),
    **dict.fromkeys(
        map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-"
    ),
    **dict.fromkeys(map(ord, "\u2022\u2023\u2043\u25e6"), "-"),
    ord("\u2026"): "...",
    **dict.fromkeys(
        map(ord, "\u00a0\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))),
        " ",
    ),
    **dict.fromkeys(map(ord, _ZERO_WIDTH), None),
}


def gsm7_lookalikes(text: str) -> str:
    """Swap typographic characters for their GSM-7 twins so a reply stays GSM-7.

    Curly quotes, dashes, the ellipsis, bullets and unicode spaces come from
    copy-pasted text and editors; each alone would turn the whole message into
    UCS-2 and can double its cost. Invisible zero-width characters are dropped.
    The zero-width joiner is kept when the text is UCS-2 anyway (it glues emoji
    sequences such as a family into one picture), and dropped otherwise. Emoji
    and other characters with no look-alike are kept: UCS-2 is then correct.
    """
    text = text.translate(_LOOKALIKES)
    if _ZWJ in text and is_gsm7(text.replace(_ZWJ, "")):
        text = text.replace(_ZWJ, "")
    return text


# --- encoding and segments ---------------------------------------------------


def is_gsm7(text: str) -> bool:
    """Whether every character has a GSM-7 code (basic or extension table)."""
    return all(c in _BASIC or c in _EXTENSION for c in text)


def _gsm7_cost(char: str) -> int:
    if char in _BASIC:
        return 1
    if char in _EXTENSION:
        return 2
    raise ValueError(f"not a GSM-7 character: {char!r}")


def _ucs2_cost(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def gsm7_units(text: str) -> int:
    """Septets the text takes in GSM-7; extension characters need an escape too.

    Raises:
        ValueError: if the text has a character GSM-7 cannot encode.
    """
    return sum(_gsm7_cost(c) for c in text)


def ucs2_units(text: str) -> int:
    """UTF-16 code units: a character beyond the BMP (most emoji) takes two."""
    return sum(_ucs2_cost(c) for c in text)


@dataclass(frozen=True)
class SegmentInfo:
    """How Twilio will encode and bill one message body."""

    encoding: Encoding
    units: int
    segments: int


def segment_parts(text: str) -> list[str]:
    """The text as the handset parts it is sent in; `"".join` gives it back.

    Packed character by character, not by division: a two-unit item (GSM-7
    extension character, UCS-2 surrogate pair) never straddles a part boundary,
    so a long message can need one part more than units / 153 suggests. The
    empty text is no part at all: nothing is sent.
    """
    if not text:
        return []
    if is_gsm7(text):
        cost, single, part = _gsm7_cost, GSM7_SINGLE, GSM7_PART
    else:
        cost, single, part = _ucs2_cost, UCS2_SINGLE, UCS2_PART
    costs = [cost(c) for c in text]
    if sum(costs) <= single:
        return [text]
    parts: list[str] = []
    start = used = 0
    for i, units in enumerate(costs):
        if used + units > part:
            parts.append(text[start:i])
            start, used = i, 0
        used += units
    parts.append(text[start:])
    return parts


def segment_info(text: str) -> SegmentInfo:
    """Encoding, units and billed segments of one body ("" is 0 segments)."""
    if is_gsm7(text):
        return SegmentInfo("GSM-7", gsm7_units(text), len(segment_parts(text)))
    return SegmentInfo("UCS-2", ucs2_units(text), len(segment_parts(text)))


# --- one message ---------------------------------------------------------------

_SPACE_RUN = re.compile(r" {2,}")


def shape_message(text: str, buttons: Sequence[Mapping[str, Any]] = ()) -> str:
    """One bot message as SMS text, its buttons numbered in the same message.

    Rasa's default sends one SMS per button; here "Reply 1 for X, 2 for Y or 3
    for Z." keeps one question in one SMS, in the same wording the actions use.
    Button k is option k, whatever its title, so a reply "k" maps back to the
    k-th payload; a button without a title shows its payload. Look-alikes are
    swapped before `plain_text`, so dropped zero-width characters leave no
    double space, and again after it, since it unescapes "&hellip;" to "…".
    """
    options = []
    for button in buttons:
        payload = str(button.get("payload") or "")
        title = plain_text(gsm7_lookalikes(str(button.get("title") or "")))
        options.append(Option(title=title or plain_text(payload), payload=payload))
    body = plain_text(gsm7_lookalikes(text))
    shaped = gsm7_lookalikes(with_options(body, options))
    return _SPACE_RUN.sub(" ", shaped).strip()


# --- a whole turn ------------------------------------------------------------


@dataclass(frozen=True)
class SmsPart:
    """One body to send, with the encoding and segments Twilio will bill."""

    body: str
    encoding: str
    segments: int


_SENTENCE_END = re.compile(r"[.!?](?=\s)")


def _safe_cut(text: str, at: int) -> int:
    """Never between the halves of a surrogate pair (possible in a Python str)."""
    if not 1 < at < len(text):
        return at
    pair = "\ud800" <= text[at - 1] <= "\udbff" and "\udc00" <= text[at] <= "\udfff"
    return at - 1 if pair else at


def _last_space(text: str, limit: int) -> int:
    """Index of the last whitespace at or before `limit` in stripped text, or 0."""
    for i in range(min(limit, len(text) - 1), 0, -1):
        if text[i].isspace():
            return i
    return 0


def _split_long(text: str, limit: int) -> list[str]:
    """Cut a stripped message longer than `limit` into stripped chunks that fit.

    A sentence end is preferred, but only in the second half of the window: an
    early one would waste most of a body, and bodies per turn are capped. Then a
    word boundary; a single word longer than the limit is cut hard. Only the
    whitespace at a cut is dropped, so no text is lost.
    """
    chunks = []
    while len(text) > limit:
        window = text[: limit + 1]
        ends = [m.end() for m in _SENTENCE_END.finditer(window)]
        cut = ends[-1] if ends and ends[-1] > limit // 2 else 0
        if not cut:
            cut = _last_space(text, limit)
        if cut:
            head, text = text[:cut].rstrip(), text[cut:].lstrip()
        else:
            cut = _safe_cut(text, limit)
            head, text = text[:cut], text[cut:]
        chunks.append(head)
    chunks.append(text)
    return chunks


def _with_marker(body: str, limit: int) -> str:
    """End a truncated turn's last body with "..." (ASCII: GSM-7 stays GSM-7)."""
    room = limit - len(CUT_MARKER)
    if len(body) > room:
        cut = _last_space(body, room)
        body = body[:cut].rstrip() if cut else body[: _safe_cut(body, room)]
    return body + CUT_MARKER


def _check_limits(max_length: int, max_parts: int) -> None:
    if not MIN_LENGTH <= max_length <= MAX_LENGTH:
        raise ValueError(
            f"max_length must be between {MIN_LENGTH} and {MAX_LENGTH} characters "
            f"(Twilio's Body limit is {MAX_LENGTH}), got {max_length!r}"
        )
    if not MIN_PARTS <= max_parts <= MAX_PARTS:
        raise ValueError(
            f"max_parts must be between {MIN_PARTS} and {MAX_PARTS}, got {max_parts!r}"
        )


def shape_turn(
    messages: Sequence[str], max_length: int = 1600, max_parts: int = 3
) -> list[SmsPart]:
    """A turn's shaped messages packed into as few SMS bodies as fit.

    Messages share a body, one per line, while it stays within `max_length`
    characters; one that does not fit starts the next body, and one longer than
    `max_length` is split across bodies (see `_split_long`). The chunk ending a
    split message can share its body with the next message. Past `max_parts`
    bodies the turn is truncated: the last allowed body is cut at a word and
    ends with "...", so a runaway reply cannot cost an unbounded number of SMS.

    Raises:
        ValueError: if max_length is outside 50..1600 or max_parts outside 1..10.
    """
    _check_limits(max_length, max_parts)
    bodies: list[str] = []
    current = ""
    for message in messages:
        message = message.strip()
        if not message:
            continue
        if current and len(current) + 1 + len(message) <= max_length:
            current = f"{current}\n{message}"
            continue
        if current:
            bodies.append(current)
        *full, current = _split_long(message, max_length)
        bodies.extend(full)
    if current:
        bodies.append(current)
    if len(bodies) > max_parts:
        bodies = bodies[: max_parts - 1] + [
            _with_marker(bodies[max_parts - 1], max_length)
        ]
    parts = []
    for body in bodies:
        info = segment_info(body)
        parts.append(SmsPart(body=body, encoding=info.encoding, segments=info.segments))
    return parts
