"""What a stored user event keeps of its NLU parse: what anything reads back.

Rasa stores each message's whole parse: the ranking of every intent, every
retrieval response with its score, the token offsets. That is about 1.5 KB of a
turn's events and nothing reads it back: policies featurize past turns from the
intent and entities, `rasa export` and the tracker API pass events through, story
export and `rasa test` use the intent and entities, and actions read the response
selector of the message of the running turn, which is still in memory. Kept: the
intent and entities whole; the top intents (a reviewer can see what else it might
have been); the chosen retrieval response's key. The parse's copies of the text,
message id and metadata are dropped where they equal the event's own: Rasa's
`UserUttered` puts them back into the parse when it loads the event.
"""

from __future__ import annotations

import copy
from typing import Any

TOP_INTENTS = 3
_RESPONSE_KEYS = ("intent_response_key", "utter_action", "confidence")
_COPIES = ("text", "message_id", "metadata")  # UserUttered rebuilds these on load


def trimmed(event: dict[str, Any]) -> dict[str, Any]:
    """The stored form of one event (a dict from `Event.as_dict()`); not in place."""
    parse = event.get("parse_data")
    if event.get("event") != "user" or not isinstance(parse, dict):
        return event
    parse = dict(parse)
    parse.pop("text_tokens", None)
    for key in _COPIES:
        if key in parse and parse[key] == event.get(key):
            del parse[key]
    ranking = parse.get("intent_ranking")
    if isinstance(ranking, list):
        parse["intent_ranking"] = copy.deepcopy(ranking[:TOP_INTENTS])
    selector = parse.get("response_selector")
    if isinstance(selector, dict):
        parse["response_selector"] = _selector(selector)
    return {**event, "parse_data": parse}


def _selector(selector: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, value in selector.items():
        if not isinstance(value, dict):
            kept[name] = value  # all_retrieval_intents
            continue
        response = value.get("response")
        if isinstance(response, dict):
            response = {k: response[k] for k in _RESPONSE_KEYS if k in response}
        kept[name] = {"response": response}
    return kept
