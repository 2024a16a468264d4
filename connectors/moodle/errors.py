"""Every way a Moodle call can fail, as a class with a sysexits exit code and a message that says what to do.

The classes refine the project-wide ones in `intensive_tracker.errors`, so the CLI maps them to exit
codes without knowing Moodle::

    MoodleError
    ├── MoodleUnavailable (69)            the site did not answer usefully; retried first
    │   ├── Unreachable                   connection refused, unknown host, no route
    │   ├── Timeout                       no connection or no answer within the configured seconds
    │   ├── ServerError                   HTTP 5xx (or 408/429)
    │   ├── NotServing                    an HTML page instead of JSON: maintenance, a login or proxy page
    │   ├── Maintenance                   errorcode sitemaintenance
    │   └── Truncated                     a JSON body cut short
    ├── MoodleAuthError (77)
    │   ├── InvalidToken                  errorcode invalidtoken: unknown or deleted token
    │   ├── AccessDenied                  accessexception on site info: expired, IP, not authorised, no rest:use
    │   ├── WebServicesDisabled           HTTP 403 with an empty body
    │   ├── MoodleFunctionMissing
    │   │   ├── FunctionNotInService      accessexception on a data call
    │   │   └── FunctionUnknown           invalidrecord external_functions: the plugin is not installed
    │   └── MoodleCapabilityError
    │       └── MissingCapability         `capability` names what the role lacks
    ├── MoodleNotFound (78)
    │   └── UnknownCourse, UnknownActivity, UnknownGroup
    ├── MoodleBadRequest (65)
    │   └── InvalidParameter              invalidparameter / invaliduserfield
    └── BadAnswer (65)                    XML, another format, or JSON of an unexpected shape

Messages never carry the token or a raw body; Moodle's own one-line message is quoted where it helps.
"""

from __future__ import annotations

import os

from intensive_tracker.errors import (
    MoodleAuthError,
    MoodleBadRequest,
    MoodleCapabilityError,
    MoodleError,
    MoodleFunctionMissing,
    MoodleNotFound,
    MoodleUnavailable,
)
from intensive_tracker.i18n import N_, _

# Where in Moodle's administration a fix is made, as its menus read (translated where shown: `_(ROLE_PATH)`).
SERVICE_FUNCTIONS_PATH = N_(
    "Администрирование → Сервер → Веб-службы → Внешние службы → (служба трекера) → Функции → Добавить функции"
)
ROLE_PATH = N_("Администрирование → Пользователи → Права → Определение ролей → (роль пользователя службы)")


def give_role(capability: str) -> str:
    """«Give the service user's role this capability», with where roles are defined."""
    return _("дайте роли право {capability} ({path})", capability=capability, path=_(ROLE_PATH))


def maintenance_message(base_url: str) -> str:
    return _("{url} в режиме обслуживания; запустите синхронизацию снова, когда сайт вернётся", url=base_url)


class _Retryable(MoodleUnavailable):
    """Transient: the client retries these with backoff before giving up."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        wsfunction: str | None = None,
        errorcode: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, wsfunction=wsfunction, errorcode=errorcode)
        self.retry_after = retry_after


class Unreachable(_Retryable):
    pass


class Timeout(_Retryable):
    pass


class ServerError(_Retryable):
    pass


class Truncated(_Retryable):
    pass


class NotServing(MoodleUnavailable):
    retryable = False


class Maintenance(MoodleUnavailable):
    retryable = False


class InvalidToken(MoodleAuthError):
    pass


class AccessDenied(MoodleAuthError):
    pass


class WebServicesDisabled(MoodleAuthError):
    pass


class FunctionNotInService(MoodleFunctionMissing):
    pass


class FunctionUnknown(MoodleFunctionMissing):
    pass


class MissingCapability(MoodleCapabilityError):
    """`capability` is the Moodle capability the service user's role needs."""

    def __init__(
        self, message: str, *, capability: str, wsfunction: str | None = None, errorcode: str | None = None
    ) -> None:
        super().__init__(message, wsfunction=wsfunction, errorcode=errorcode)
        self.capability = capability


class UnknownCourse(MoodleNotFound):
    pass


class UnknownActivity(MoodleNotFound):
    pass


class UnknownGroup(MoodleNotFound):
    pass


class InvalidParameter(MoodleBadRequest):
    pass


class BadAnswer(MoodleError):
    exit_code = os.EX_DATAERR


def is_retryable(error: MoodleError) -> bool:
    """Retried: 5xx, timeouts, connection errors (a body cut short is one); never an answer Moodle meant."""
    return bool(getattr(error, "retryable", False))


__all__ = [
    "AccessDenied",
    "BadAnswer",
    "FunctionNotInService",
    "FunctionUnknown",
    "InvalidParameter",
    "InvalidToken",
    "Maintenance",
    "MissingCapability",
    "MoodleAuthError",
    "MoodleBadRequest",
    "MoodleCapabilityError",
    "MoodleError",
    "MoodleFunctionMissing",
    "MoodleNotFound",
    "MoodleUnavailable",
    "NotServing",
    "ROLE_PATH",
    "SERVICE_FUNCTIONS_PATH",
    "ServerError",
    "Timeout",
    "Truncated",
    "UnknownActivity",
    "UnknownCourse",
    "UnknownGroup",
    "Unreachable",
    "WebServicesDisabled",
    "give_role",
    "is_retryable",
    "maintenance_message",
]
