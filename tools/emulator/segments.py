"""How many SMS segments Twilio bills for a body (the emulator's `num_segments`).

Kept local and small on purpose: the emulator is the yardstick the connector's own
segment code is tested against, so it must not import `connectors.*`.
"""

from __future__ import annotations

# 3GPP TS 23.038 default alphabet (without the escape 0x1B) and its extension table.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm7(text: str) -> bool:
    """One character outside GSM-7 turns the whole message UCS-2."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def char_units(text: str) -> list[int]:
    """Units per character: septets for GSM-7 (extension = 2), UTF-16 units else."""
    if is_gsm7(text):
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [len(ch.encode("utf-16-le")) // 2 for ch in text]


def count_segments(text: str) -> int:
    """Segments as billed; a 2-unit character never straddles a part boundary.

    An empty body (media only) still counts as one segment, as Twilio reports it.
    """
    units = char_units(text)
    single, part = (
        (GSM7_SINGLE, GSM7_PART) if is_gsm7(text) else (UCS2_SINGLE, UCS2_PART)
    )
    if sum(units) <= single:
        return 1
    parts, used = 1, 0
    for size in units:
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return parts
