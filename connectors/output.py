"""SmsOutput collects a whole turn before anything is sent.

Rasa calls the output channel once per bot message; sending each at once would make
one SMS per sentence and let a message arrive before the one above it. Collecting
lets `sms_text.shape_turn` join them into as few texts as fit.

SendingOutput is for what the business starts (Rasa's `POST /conversations/<number>/
execute?output_channel=twilio_sms`): no turn ends to flush it, so each message goes
out by SMS as Rasa hands it over.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel

from connectors.sms_text import shape_message

logger = logging.getLogger(__name__)


class SmsOutput(OutputChannel):
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.buttons: list[dict[str, Any]] = []

    @classmethod
    def name(cls) -> str:
        return "twilio_sms"

    async def send_text_message(
        self, recipient_id: str, text: str, **kwargs: Any
    ) -> None:
        self.texts.append(shape_message(text))
        self.buttons = []

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        usable = [b for b in buttons if isinstance(b, dict) and b.get("title")]
        self.texts.append(shape_message(text, usable))
        self.buttons = usable

    async def send_quick_replies(
        self,
        recipient_id: str,
        text: str,
        quick_replies: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(
        self, recipient_id: str, image: str, **kwargs: Any
    ) -> None:
        """Images go as their link: plain SMS, no MMS cost or carrier support needed."""
        self.texts.append(shape_message(image))

    async def send_attachment(
        self, recipient_id: str, attachment: str, **kwargs: Any
    ) -> None:
        self.texts.append(shape_message(str(attachment)))

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if isinstance(text, str) and text.strip():
            self.texts.append(shape_message(text))
        else:
            # Its keys only: the values may hold what the customer told the bot.
            keys = sorted(json_message) if isinstance(json_message, dict) else []
            logger.info("custom json with no text is not sent by SMS (keys %s)", keys)


#: Sends a customer's texts by SMS; returns what each part's send came to.
SendTexts = Callable[[str, list[str]], Awaitable[list[Any]]]


class SendingOutput(SmsOutput):
    def __init__(self, send: SendTexts) -> None:
        super().__init__()
        self._send = send
        self.results: list[Any] = []

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        await super().send_response(recipient_id, message)
        texts, self.texts = self.texts, []
        if texts:
            self.results += await self._send(recipient_id, texts)
