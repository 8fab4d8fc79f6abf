"""Notice a failed turn that Rasa swallows.

When the action server is down or an action raises, Rasa 3.6's processor logs the
exception and carries on with no events: the customer would get silence. Rasa
offers no hook for it, so the worker watches the processor's log for errors raised
inside its own turn (a ContextVar keeps concurrent turns apart) and sends the
configured failure text instead.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

from connectors import compat

WATCHED_LOGGERS = (compat.PROCESSOR_LOGGER,)
_current: ContextVar[list[logging.LogRecord] | None] = ContextVar(
    "sms_turn_errors", default=None
)


class _TurnErrorHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        errors = _current.get()
        if errors is not None:
            errors.append(record)


_handler = _TurnErrorHandler()


def install() -> None:
    """Idempotent: attach the handler to Rasa's processor logger once."""
    for name in WATCHED_LOGGERS:
        log = logging.getLogger(name)
        if _handler not in log.handlers:
            log.addHandler(_handler)


@contextlib.contextmanager
def watching() -> Iterator[list[logging.LogRecord]]:
    """Errors Rasa logs while this block runs in the current task."""
    errors: list[logging.LogRecord] = []
    token = _current.set(errors)
    try:
        yield errors
    finally:
        _current.reset(token)
