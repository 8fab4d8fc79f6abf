"""The one way actions send text: through the plain-text formatter.

Every bot text an action sends goes through `say`, so nothing reaches a phone with
markdown, HTML, stray whitespace or an option list the customer cannot answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from replytext.options import Option, with_options
from replytext.plain import plain_text

#: Longest reply without a list of options (two GSM-7 segments).
MAX_REPLY = 320


def compose(text: str, options: Sequence[Option] = ()) -> str:
    """The final SMS text: plain, with numbered options inside the same message."""
    text = plain_text(text)
    return plain_text(with_options(text, options)) if options else text


def say(
    dispatcher: CollectingDispatcher, text: str, options: Sequence[Option] = ()
) -> None:
    """Send a reply as plain text with its options in the same message."""
    dispatcher.utter_message(text=compose(text, options))


def options_slot(options: Sequence[Option]) -> list[dict[str, Any]] | None:
    """Options as stored in the `offered_options` slot, so a later "2" can resolve."""
    return [{"title": o.title, "payload": o.payload} for o in options] or None


def options_from_slot(value: Any) -> list[Option]:
    """The options stored in `offered_options`; malformed entries are skipped."""
    if not isinstance(value, list):
        return []
    return [
        Option(title=str(o["title"]), payload=str(o["payload"]))
        for o in value
        if isinstance(o, dict) and "title" in o and "payload" in o
    ]
