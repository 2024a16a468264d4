"""Registered secrets never reach a log line or an error text: `redact` replaces each one by ***."""

from __future__ import annotations

import logging

import pytest

from intensive_tracker import redact

TOKEN = "0f3c9a7e5b1d4c2a8e6f0b9d7c5a3e1f"
PASSWORD = "s3cr3t-smtp-pass"


@pytest.fixture(autouse=True)
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an empty register (the real one is process-wide)."""
    monkeypatch.setattr(redact, "_secrets", set())


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("connectors.moodle", logging.DEBUG, __file__, 1, msg, args, None)


def test_a_registered_secret_is_replaced_in_urls_and_bodies() -> None:
    """Every occurrence of a registered token, in a query string or a form body, becomes ***."""
    redact.register_secret(TOKEN)
    url = f"https://moodle.example/webservice/rest/server.php?wstoken={TOKEN}&moodlewsrestformat=json"
    body = f"wstoken={TOKEN}&wsfunction=core_webservice_get_site_info&again={TOKEN}"
    assert redact.redact(url) == (
        "https://moodle.example/webservice/rest/server.php?wstoken=***&moodlewsrestformat=json"
    )
    assert redact.redact(body) == "wstoken=***&wsfunction=core_webservice_get_site_info&again=***"


def test_every_registered_secret_is_replaced_and_other_text_kept() -> None:
    """Two registered secrets both vanish from one text; text without a secret comes back unchanged."""
    redact.register_secret(TOKEN)
    redact.register_secret(PASSWORD)
    assert redact.redact(f"login lab@demo.invalid:{PASSWORD} token {TOKEN}") == "login lab@demo.invalid:*** token ***"
    assert redact.redact("nothing secret here: 42 cohorts") == "nothing secret here: 42 cohorts"


def test_only_registered_values_are_secrets() -> None:
    """An unregistered token-like value is left alone: the module promises registered secrets only."""
    assert redact.redact(f"wstoken={TOKEN}") == f"wstoken={TOKEN}"


def test_empty_and_very_short_values_are_not_registered() -> None:
    """None, "" and values under 4 characters are ignored, so common text is not starred out."""
    for value in (None, "", "abc"):
        redact.register_secret(value)
    assert redact.redact("abc abcd") == "abc abcd"
    redact.register_secret("abcd")
    assert redact.redact("abc abcd") == "abc ***"


def test_the_logging_filter_redacts_the_formatted_message_and_keeps_the_record() -> None:
    """A secret passed as a %-argument is redacted after formatting; the record is still emitted."""
    redact.register_secret(TOKEN)
    record = _record("POST %s?wstoken=%s", "https://moodle.example/server.php", TOKEN)
    assert redact.RedactingFilter().filter(record) is True
    assert record.getMessage() == "POST https://moodle.example/server.php?wstoken=***"
    assert TOKEN not in record.getMessage()


def test_the_logging_filter_reaches_a_handler(caplog: pytest.LogCaptureFixture) -> None:
    """Through a handler with the filter, the captured line holds *** and not the token."""
    redact.register_secret(TOKEN)
    logger = logging.getLogger("tests.redact")
    redacting = redact.RedactingFilter()
    caplog.handler.addFilter(redacting)
    try:
        with caplog.at_level(logging.INFO, logger="tests.redact"):
            logger.info("request failed: %s", f"wstoken={TOKEN}")
    finally:
        caplog.handler.removeFilter(redacting)
    assert caplog.messages == ["request failed: wstoken=***"]
