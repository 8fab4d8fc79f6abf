"""Rasa's REST channel, telling the assistant which channel a message came from.

A new conversation has no earlier message to read the channel from, so
action_session_start reads `channel_type` from the message metadata instead.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.rest import RestInput
from sanic.request import Request


class RestChannel(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def get_metadata(self, request: Request) -> dict[str, Any]:
        sent = super().get_metadata(request)
        metadata = dict(sent) if isinstance(sent, dict) else {}
        metadata.setdefault("channel_type", "rest")
        return metadata
