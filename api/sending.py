"""Sending a business text (the API's or staff's): shaped into parts as a turn's
replies are, sent in order, stopping at the first part Twilio did not take."""

from __future__ import annotations

from connectors.sender import SendResult, TwilioSender
from connectors.settings import SmsSettings
from connectors.sms_text import shape_turn


class PartSender:
    """The `send` callback RasaConversations takes; keeps what each part came to.
    With `part_ids`, part k is sent as `<part_ids>:k`, so a re-run sends none twice."""

    def __init__(
        self,
        sender: TwilioSender,
        settings: SmsSettings,
        to: str,
        agent: str | None,
        part_ids: str | None = None,
    ) -> None:
        self.sender = sender
        self.settings = settings
        self.to = to
        self.agent = agent
        self.part_ids = part_ids
        self.results: list[SendResult] = []

    async def __call__(self, texts: list[str]) -> bool:
        """True if Twilio took the first part (the text is then on record)."""
        parts = shape_turn(
            texts,
            max_length=self.settings.max_message_length,
            max_parts=self.settings.max_parts_per_turn,
        )
        for index, part in enumerate(parts):
            part_id = f"{self.part_ids}:{index}" if self.part_ids else None
            result = await self.sender.send(self.to, self.agent, part, part_id)
            self.results.append(result)
            if not result.handed_over:
                break
        return bool(self.results) and self.results[0].handed_over

    @property
    def sent(self) -> list[SendResult]:
        return [r for r in self.results if r.handed_over]


def refusal(failed: SendResult) -> str:
    """What a 502 says when Twilio did not take a business text."""
    return f"Twilio did not take the message: {failed.error_message or failed.status}"
