"""Keeps secrets out of every sink: each registered secret is replaced by *** wherever text is redacted.

Log records pass through `RedactingFilter`; text from outside (a Moodle answer, an SMTP reply) is
redacted where it enters (`redact`, `redact_bytes`), before any message, warning or row is made of it.
A secret is also found in the spellings an echo gives it: URL-encoded (a request echoed as
``wstoken=…``), JSON-escaped (``\\/``) and HTML-escaped.
"""

from __future__ import annotations

import html
import json
import logging
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
_secrets: set[str] = set()
_lock = threading.Lock()


def _spellings(value: str) -> set[str]:
    """The secret and the ways an echo can spell it."""
    escaped = json.dumps(value, ensure_ascii=False)[1:-1]
    forms = {value, quote(value, safe=""), quote_plus(value), escaped, escaped.replace("/", "\\/"), html.escape(value)}
    return {f for f in forms if len(f) >= 4}


def register_secret(value: str | None) -> None:
    """From now on, `value` never appears in a log line or in redacted text."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.update(_spellings(value))


def redact(text: str) -> str:
    """`text` with every registered secret (in any of its spellings) replaced by ***."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_bytes(content: bytes) -> bytes:
    """`redact` for a raw answer body (UTF-8 spellings of each secret)."""
    for secret in sorted(_secrets, key=len, reverse=True):
        raw = secret.encode("utf-8")
        if raw in content:
            content = content.replace(raw, MASK.encode())
    return content


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = redact(record.getMessage())
            record.msg, record.args = message, None
        return True
