"""R, the baseline the bench compares against: Rasa 3.6's built-in `twilio` channel.

Only Twilio's host changes (to the local emulator: there is no Twilio account here);
everything else is Rasa's own code, faults included: the turn runs inside the
webhook request, and replies go out through twilio's blocking client on the event
loop. credentials.yml:

    bench.baseline_channel.RedirectedTwilioInput:
      account_sid: AC...
      auth_token: ...
      twilio_number: "+15017122661"
      api_base_url: http://127.0.0.1:8099
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel
from rasa.core.channels.twilio import TwilioInput, TwilioOutput


class RedirectedTwilioInput(TwilioInput):
    api_base_url = "https://api.twilio.com"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channel = super().from_credentials(credentials)
        assert isinstance(channel, RedirectedTwilioInput)  # noqa: S101 - cls above
        channel.api_base_url = (credentials or {}).get(
            "api_base_url"
        ) or cls.api_base_url
        return channel

    def get_output_channel(self) -> OutputChannel:
        output = super().get_output_channel()
        assert isinstance(output, TwilioOutput)  # noqa: S101 - Rasa's own class
        output.api.base_url = self.api_base_url
        return output
