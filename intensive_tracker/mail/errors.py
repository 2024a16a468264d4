"""Mail errors, placed in the TrackerError tree so the CLI maps them to their exit codes.

MailError (75, EX_TEMPFAIL)              some messages are not delivered yet (errors.py)
MailUnavailable (69, EX_UNAVAILABLE)     the SMTP server cannot be reached or greeted
MailAuthError (77, EX_NOPERM)            the SMTP server refused the login
HeaderInjection (65, EX_DATAERR)         a header value holds a line break
"""

from __future__ import annotations

import os

from intensive_tracker.errors import InputError, TrackerError


class MailUnavailable(TrackerError):
    exit_code = os.EX_UNAVAILABLE


class MailAuthError(TrackerError):
    exit_code = os.EX_NOPERM


class HeaderInjection(InputError, ValueError):
    """A newline in a header value would let data add headers (Bcc:) to a personal-data email."""

    exit_code = os.EX_DATAERR
