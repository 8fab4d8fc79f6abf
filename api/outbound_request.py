"""A `POST /sms/outbound` body, read and checked before anything is stored or sent.

Pure: the checks that need the server (configured numbers, the domain's slots,
opt-outs) come later, in api/outbound.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from api.errors import ApiError
from connectors.inbound import canonical_e164

#: Template name -> the bot's action that writes the text from the conversation.
TEMPLATES = {"reminder": "action_remind_appointment"}
FIELDS = {
    "to",
    "message",
    "template",
    "agent_number",
    "slots",
    "idempotency_key",
    "urgent",
    "when_allowed",
}
MAX_IDEMPOTENCY_KEY = 255


@dataclass(frozen=True)
class OutboundRequest:
    to: str
    message: str | None = None
    template: str | None = None
    agent_number: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    urgent: bool = False
    when_allowed: bool = False

    @property
    def action(self) -> str | None:
        return TEMPLATES.get(self.template) if self.template else None

    def as_json(self) -> dict[str, Any]:
        """What identifies the request (stored with a deferred text, fingerprinted
        for idempotency)."""
        return {
            "to": self.to,
            "message": self.message,
            "template": self.template,
            "agent_number": self.agent_number,
            "slots": self.slots,
            "idempotency_key": self.idempotency_key,
            "urgent": self.urgent,
            "when_allowed": self.when_allowed,
        }


def bad(detail: str, code: str = "invalid_request") -> ApiError:
    """A 400: the caller's request is wrong and the same request stays wrong."""
    return ApiError(400, code, detail)


def parse_body(raw: bytes | str | None) -> dict[str, Any]:
    """The JSON object of a request body, or a 400 saying what is wrong."""
    if not raw:
        raise bad("the body must be a JSON object", "invalid_json")
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as err:
        raise bad(f"the body is not JSON: {err}", "invalid_json") from None
    except RecursionError:  # a body of 20,000 "[": json's parser recurses
        raise bad("the body is nested too deeply", "invalid_json") from None
    if not isinstance(data, dict):
        raise bad("the body must be a JSON object", "invalid_json")
    if not _encodable(data):
        raise bad(
            "the body holds a lone UTF-16 surrogate (\\ud800-\\udfff): not text",
            "invalid_json",
        )
    return data


def _no_constant(name: str) -> Any:
    """NaN and Infinity are Python's extension, not JSON: a slot value of NaN
    would be stored and break every reader that follows the standard."""
    raise ValueError(f"{name} is not a JSON value")


def _encodable(value: Any) -> bool:
    """Every string in it can be written as UTF-8 (a lone surrogate cannot: it
    would fail in the sender or a hash, after the request was taken)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(v) for v in value)
    return True


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(f"{name} must be a string")
    return value


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise bad(f"{name} must be true or false")
    return value


def _number(data: dict[str, Any], name: str, required: bool) -> str | None:
    value = _text(data, name)
    if value is None:
        if required:
            raise bad(f"{name} is required (E.164, e.g. +14155552671)")
        return None
    if canonical_e164(value) is None:
        raise bad(
            f"{name} is not an E.164 phone number (+, country code, number, no "
            "spaces, e.g. +14155552671)",
            "invalid_number",
        )
    return value


def read_request(data: dict[str, Any], max_length: int) -> OutboundRequest:
    """The request, or a 400 naming the first field that is wrong."""
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise bad(f"unknown field(s) {unknown}; known: {sorted(FIELDS)}")
    to = _number(data, "to", required=True)
    assert to is not None
    agent_number = _number(data, "agent_number", required=False)
    message = _text(data, "message")
    template = _text(data, "template")
    if message is not None and template is not None:
        raise bad("give either message or template, not both")
    if template is not None and template not in TEMPLATES:
        raise bad(f"unknown template {template!r}; known: {sorted(TEMPLATES)}")
    if template is None:
        if message is None or not message.strip():
            raise bad("message is required and must not be empty", "empty_message")
        message = message.strip()
        if len(message) > max_length:
            raise bad(
                f"message is {len(message)} characters; at most {max_length}",
                "message_too_long",
            )
    slots = data.get("slots") or {}
    if not isinstance(slots, dict) or not all(isinstance(k, str) for k in slots):
        raise bad('slots must be an object of slot names to values, e.g. {"a": 1}')
    key = _text(data, "idempotency_key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise bad(f"idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    urgent = _flag(data, "urgent")
    when_allowed = _flag(data, "when_allowed")
    if urgent and when_allowed:
        raise bad("urgent sends now and when_allowed waits: give one of them")
    return OutboundRequest(
        to=to,
        message=message,
        template=template,
        agent_number=agent_number,
        slots=dict(slots),
        idempotency_key=key,
        urgent=urgent,
        when_allowed=when_allowed,
    )
