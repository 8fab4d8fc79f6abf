"""Personal data and secrets out of every log line, whoever writes it.

Phone numbers are conversation ids here, so Rasa, Sanic, rasa_sdk and our own code
all put them in log lines; a customer's text appears in Rasa's error lines. Masking
each call site would miss the libraries' lines, so this wraps the process's log
record factory once: every record, from any logger, is rendered and then masked
before a handler sees it. Numbers become `+1415***2671`, registered secrets and URL
passwords become `***`, and at INFO and above the text fields of Rasa's structured
events (`text=`, `user_text=` ...) are dropped. Message bodies may still appear at
DEBUG, which is for a developer's machine.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

#: E.164 (or URL-encoded E.164) with 8 to 15 digits, not part of a longer number.
_NUMBER = re.compile(r"(?<![\w%])(\+|%2B)(\d{8,15})(?!\d)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]*):([^@\s/]+)@", re.I)
#: Keys Rasa's structlog events carry customer text in (rasa.utils.log_utils).
_TEXT_KEYS = (
    "text",
    "user_text",
    "response_text",
    "utterance",
    "user_message",
    "json_message",
    "message_text",
    "body",
)
_KEYS = "|".join(_TEXT_KEYS)
_QUOTED = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|None"""
_STRUCTURED_TEXT = re.compile(
    rf"""(?P<key>["']?(?:{_KEYS})["']?\s*[:=]\s*)(?P<value>{_QUOTED})"""
)

#: Loggers that write data, not log lines: Rasa's file event broker writes the
#: events `rasa export` produces through "event-logger"; masking them corrupts the
#: export.
DATA_LOGGERS = frozenset({"event-logger"})

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def mask_number(number: str) -> str:
    """+14155552671 -> +1415***2671: enough to tell customers apart in a log."""
    digits = number.lstrip("+")
    if len(digits) < 8:
        return "+***"
    return f"+{digits[:4]}***{digits[-4:]}"


def register_secret(value: str | None) -> None:
    """A value that must never appear in a log line (tokens, passwords)."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str, keep_text: bool = True) -> str:
    """The log-safe form of one rendered line."""
    text = _NUMBER.sub(lambda m: mask_number(m.group(2)), text)
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    if not keep_text:
        text = _STRUCTURED_TEXT.sub(lambda m: m.group("key") + '"[redacted]"', text)
    return text


def install() -> None:
    """Wrap the log record factory (once per process); idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    plain = logging.getLogRecordFactory()

    def masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = plain(*args, **kwargs)
        if record.name in DATA_LOGGERS:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let logging report it as usual
            return record
        record.msg = redact(message, keep_text=record.levelno < logging.INFO)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Tracebacks carry values too (a failed Redis URL, an exception's args).
            record.exc_text = redact(
                logging.Formatter().formatException(record.exc_info),
                keep_text=record.levelno < logging.INFO,
            )
        return record

    logging.setLogRecordFactory(masked)
