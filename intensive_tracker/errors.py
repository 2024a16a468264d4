"""The errors a user can meet, each with the exit code a script can rely on.

    TrackerError (1)
    ├── ConfigError (78, EX_CONFIG)            the config file or environment is wrong
    ├── InputError (65, EX_DATAERR)            a file or an answer holds bad data
    ├── AlreadyRunning (75, EX_TEMPFAIL)       another sync holds the lock
    ├── MailError (75, EX_TEMPFAIL)            the mail server refused or went away
    ├── DatabaseUnavailable (69, EX_UNAVAILABLE)  the database server cannot be reached or opened
    ├── DatabaseCorrupt (65, EX_DATAERR)       the SQLite file is not a database, or is damaged
    ├── SchemaBehind (75, EX_TEMPFAIL)         the schema needs `db upgrade` while a sync runs
    └── MoodleError                            anything Moodle answered or failed to answer
        ├── MoodleUnavailable (69, EX_UNAVAILABLE)   unreachable, 5xx, timeout, HTML or broken body
        ├── MoodleAuthError (77, EX_NOPERM)          token rejected, web services off
        │   ├── MoodleFunctionMissing (77)           function not in the token's service
        │   └── MoodleCapabilityError (77)           the service user lacks a capability
        ├── MoodleNotFound (78, EX_CONFIG)           a configured course or activity does not exist
        └── MoodleBadRequest (65, EX_DATAERR)        Moodle refused our parameters

Messages say what happened and what to do; they never carry a token or a raw body.
"""

from __future__ import annotations

import os
from typing import ClassVar


class TrackerError(Exception):
    """Base of every error the CLI turns into a message and an exit code."""

    exit_code: ClassVar[int] = 1


class ConfigError(TrackerError):
    exit_code = os.EX_CONFIG


class InputError(TrackerError):
    exit_code = os.EX_DATAERR


class AlreadyRunning(TrackerError):
    exit_code = os.EX_TEMPFAIL


class MailError(TrackerError):
    exit_code = os.EX_TEMPFAIL


class DatabaseUnavailable(TrackerError):
    exit_code = os.EX_UNAVAILABLE


class DatabaseCorrupt(TrackerError):
    exit_code = os.EX_DATAERR


class MoodleError(TrackerError):
    """Something went wrong talking to Moodle; `wsfunction` names the call."""

    exit_code = os.EX_UNAVAILABLE

    def __init__(self, message: str, *, wsfunction: str | None = None, errorcode: str | None = None):
        super().__init__(message)
        self.wsfunction = wsfunction
        self.errorcode = errorcode


class MoodleUnavailable(MoodleError):
    exit_code = os.EX_UNAVAILABLE


class MoodleAuthError(MoodleError):
    exit_code = os.EX_NOPERM


class MoodleFunctionMissing(MoodleAuthError):
    pass


class MoodleCapabilityError(MoodleAuthError):
    pass


class MoodleNotFound(MoodleError):
    exit_code = os.EX_CONFIG


class MoodleBadRequest(MoodleError):
    exit_code = os.EX_DATAERR
