"""Each benchmark owns one section of bench/RESULTS.md between its markers."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def replace_section(section: str, begin: str, end: str) -> None:
    """Rewrite the section between `begin` and `end` (both inside `section`),
    or append it if the file has none yet."""
    text = RESULTS.read_text()
    if begin in text:
        start, stop = text.index(begin), text.index(end) + len(end)
        text = text[:start] + section + text[stop:]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text)
