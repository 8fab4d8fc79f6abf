"""SMS shows markup literally: `plain_text` strips markdown and HTML from a reply."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[a-zA-Z/][^>]*>")
_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:br|p|div|li|ul|ol|tr|h[1-6])\b[^>]*>", re.I)
_HEADING = re.compile(r"^[ \t]*#+[ \t]*", re.M)
_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]*)+", re.M)
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+")
_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)]*)\)")
_STAR_EM = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_UNDER_EM = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_SPACES = re.compile(r"\s+")


def _link(match: re.Match[str]) -> str:
    label, url = match.group(1).strip(), match.group(2).strip()
    if label and url and label != url:
        return f"{label} ({url})"
    return label or url


def _join_lines(text: str) -> str:
    """Lines become one sentence flow: "We offer", "- a", "- b" -> "We offer: a, b."."""
    lines = [line.rstrip() for line in text.split("\n") if line.strip()]
    bullet = [bool(_BULLET.match(line)) for line in lines]
    out = []
    for i, line in enumerate(lines):
        item = _BULLET.sub("", line) if bullet[i] else line
        if i + 1 < len(lines) and not item.endswith(tuple(".,;:!?")):
            if bullet[i + 1]:
                item += "," if bullet[i] else ":"
            elif bullet[i] or lines[i + 1].lstrip()[:1].isupper():
                item += "."
        out.append(item)
    return "\n".join(out)


def _one_pass(text: str) -> str:
    text = _BLOCK_TAG.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    text = _HEADING.sub("", text)
    text = _QUOTE.sub("", text)
    text = _join_lines(text)
    text = _LINK.sub(_link, text)
    text = text.replace("**", "").replace("__", "").replace("`", "")
    text = _STAR_EM.sub(r"\1", text)
    text = _UNDER_EM.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def plain_text(text: str) -> str:
    """SMS has no markup: markdown and HTML become plain words on one line.

    Passes repeat until nothing changes (unescaping "&lt;b&gt;" makes a tag, removing
    one marker can expose another), which is also what makes the result idempotent.
    Every pass that changes the text shortens it or only normalises whitespace, so
    the loop ends; the bound is a guard.
    """
    for _ in range(len(text) + 2):
        cleaned = _one_pass(text)
        if cleaned == text:
            break
        text = cleaned
    return text
