"""A local Twilio (Messages API, signed webhooks, status callbacks), one module per part.

`server` starts it (`python -m tools.emulator`, or `running_emulator(config)` inside a
test); `api` answers the REST calls, `control` the `/_emulator/*` routes, `delivery`
posts webhooks and callbacks, `state` holds what it sent, `resources` and `segments`
are Twilio's wire shapes, `config` its start-up settings.
"""

from tools.emulator.config import EmulatorConfig
from tools.emulator.server import create_app, main, running_emulator

__all__ = ["EmulatorConfig", "create_app", "main", "running_emulator"]
