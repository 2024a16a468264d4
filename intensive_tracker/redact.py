"""Keeps secrets out of logs: every registered secret is replaced by *** in each log record."""

from __future__ import annotations

import logging
import threading

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """From now on, `value` never appears in a log line."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = redact(record.getMessage())
            record.msg, record.args = message, None
        return True
