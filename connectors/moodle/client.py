"""Moodle REST transport: one `call`, POST only, the token in the body, errors read from the body.

Moodle answers errors with HTTP 200 and `{"exception", "errorcode", "message"}`; web services
switched off give 403 with an empty body (see shared/moodle-recordings/README.md).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests

from connectors.moodle.slots import FairSlots
from intensive_tracker.errors import (
    MoodleAuthError,
    MoodleBadRequest,
    MoodleCapabilityError,
    MoodleError,
    MoodleFunctionMissing,
    MoodleNotFound,
    MoodleUnavailable,
)

log = logging.getLogger(__name__)

ENDPOINT = "/webservice/rest/server.php"
SITE_INFO = "core_webservice_get_site_info"


def flatten(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """PHP-style form fields: {"courseids": [2]} → [("courseids[0]", "2")]."""
    fields: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            fields.extend(flatten(value, name))
        elif isinstance(value, (list, tuple)):
            fields.extend(flatten({str(i): v for i, v in enumerate(value)}, name))
        elif isinstance(value, bool):
            fields.append((name, "1" if value else "0"))
        elif value is not None:
            fields.append((name, str(value)))
    return fields


class MoodleClient:
    """A Moodle web-service client for one site and token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_in_flight: int = 2,
        token_hint: str = "INTENSIVE_TRACKER_MOODLE_TOKEN",
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.endpoint = self.base_url + ENDPOINT
        self._token = token
        self._timeout = (connect_timeout, read_timeout)
        self._retries = retries
        self._backoff = backoff
        self._slots = FairSlots(max_in_flight)  # first come, first served (issue 9)
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = "intensive-tracker"
        self.token_hint = token_hint
        self.requests_made = 0
        self._count_lock = threading.Lock()

    def __repr__(self) -> str:  # never show the token
        return f"MoodleClient({self.base_url!r})"

    def call(self, wsfunction: str, **params: Any) -> Any:
        """Call `wsfunction` and return its decoded JSON; raise a MoodleError subclass on failure."""
        form = [("wstoken", self._token), ("wsfunction", wsfunction), ("moodlewsrestformat", "json")]
        form.extend(flatten(params))
        attempt = 0
        while True:
            try:
                return self._once(wsfunction, form)
            except MoodleUnavailable as e:
                retry_after = getattr(e, "retry_after", None)
                if attempt >= self._retries or not getattr(e, "retryable", True):
                    raise
                attempt += 1
                delay = retry_after if retry_after is not None else self._backoff * 2 ** (attempt - 1)
                delay = delay * (0.5 + random.random()) if retry_after is None else delay
                log.warning("%s: %s; retry %d of %d in %.1f s", wsfunction, e, attempt, self._retries, delay)
                time.sleep(delay)

    def _once(self, wsfunction: str, form: list[tuple[str, str]]) -> Any:
        with self._slots:
            with self._count_lock:
                self.requests_made += 1
            try:
                response = self._session.post(self.endpoint, data=form, timeout=self._timeout)
            except requests.Timeout:
                raise _unavailable(f"{self.base_url} did not answer {wsfunction} in time "
                                   f"(timeouts {self._timeout[0]:g}/{self._timeout[1]:g} s)", wsfunction) from None
            except requests.ConnectionError as e:
                raise _unavailable(f"cannot connect to {self.base_url}: {_reason(e)}; check the url in the config "
                                   "and that Moodle is up", wsfunction) from None
            except requests.RequestException as e:
                raise _unavailable(f"{self.base_url}: {type(e).__name__}", wsfunction) from None
        return self._decode(wsfunction, response)

    def _decode(self, wsfunction: str, response: requests.Response) -> Any:
        status = response.status_code
        if status == 403 and not response.content.strip():
            raise MoodleAuthError(
                f"{self.base_url} refused web services (HTTP 403, empty body): web services or the REST protocol "
                "are switched off. In Moodle: Site administration → Advanced features → Enable web services, and "
                "Server → Web services → Manage protocols → REST",
                wsfunction=wsfunction, errorcode="http403",
            )
        if status >= 500 or status in (408, 429):
            error = _unavailable(f"{self.base_url} answered HTTP {status} to {wsfunction}", wsfunction)
            error.retry_after = _retry_after(response.headers.get("Retry-After"))  # type: ignore[attr-defined]
            raise error
        if status != 200:
            raise _unavailable(f"{self.base_url} answered HTTP {status} to {wsfunction}; is the url right?",
                               wsfunction, retryable=False)
        try:
            body = json.loads(response.content)
        except ValueError:
            head = response.content[:200].lstrip().lower()
            if head.startswith(b"<") or b"<html" in head:
                raise _unavailable(
                    f"{self.base_url} sent an HTML page instead of JSON for {wsfunction}: Moodle may be in maintenance "
                    "mode, or the url points at something else", wsfunction) from None
            raise _unavailable(f"{self.base_url} sent a truncated or non-JSON answer to {wsfunction} "
                               f"({len(response.content)} bytes)", wsfunction) from None
        if isinstance(body, dict) and "exception" in body and "errorcode" in body:
            raise classify(body, wsfunction=wsfunction, base_url=self.base_url, token_hint=self.token_hint)
        return body


def _unavailable(message: str, wsfunction: str, *, retryable: bool = True) -> MoodleUnavailable:
    error = MoodleUnavailable(message, wsfunction=wsfunction)
    error.retryable = retryable  # type: ignore[attr-defined]
    error.retry_after = None  # type: ignore[attr-defined]
    return error


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), 300.0)
    except ValueError:
        return None


def _reason(error: requests.ConnectionError) -> str:
    text = str(error)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "Temporary failure in name resolution", "timed out"):
        if marker in text:
            return marker.lower()
    return type(error).__name__


def classify(body: Mapping[str, Any], *, wsfunction: str, base_url: str = "Moodle",
             token_hint: str = "INTENSIVE_TRACKER_MOODLE_TOKEN") -> MoodleError:
    """The typed error for a Moodle exception body (codes as seen in the recordings)."""
    code = str(body.get("errorcode", ""))
    message = str(body.get("message", ""))[:300]
    where = f"{wsfunction}: Moodle says «{message}» ({code})"
    if code == "invalidtoken":
        return MoodleAuthError(
            f"{base_url} rejected the token: it is unknown or was deleted (an expired token is deleted on first use). "
            f"Create a new token for the service user and put it in {token_hint}", wsfunction=wsfunction, errorcode=code)
    if code == "accessexception":
        if wsfunction == SITE_INFO:
            return MoodleAuthError(
                f"{base_url} denied access to the token: it has expired, the IP address is not allowed, the user is "
                "not authorised for the service, or lacks webservice/rest:use (Moodle does not say which; see "
                "MOODLE setup in the README)", wsfunction=wsfunction, errorcode=code)
        return MoodleFunctionMissing(
            f"{wsfunction} is not in the token's service: add it in Site administration → Server → Web services → "
            "External services → (the service) → Functions", wsfunction=wsfunction, errorcode=code)
    if code == "invalidrecord" and "external_functions" in message:
        return MoodleFunctionMissing(
            f"{wsfunction} does not exist on {base_url}: is the plugin that provides it installed?",
            wsfunction=wsfunction, errorcode=code)
    if code == "nopermissions":
        return MoodleCapabilityError(
            f"{where}. The service user's role lacks the capability named there: add it to the role "
            "(Site administration → Users → Permissions → Define roles)", wsfunction=wsfunction, errorcode=code)
    if code in ("requireloginerror", "errorcoursecontextnotvalid"):
        if "Invalid parameter" in message:
            return MoodleNotFound(f"{where}: the course does not exist", wsfunction=wsfunction, errorcode=code)
        return MoodleCapabilityError(
            f"{where}. The service user cannot reach the course: give its role moodle/course:view (and, for "
            "attendance, mod/attendance:view) at system level", wsfunction=wsfunction, errorcode=code)
    if code in ("invalidrecord", "invalidrecordunknown"):
        return MoodleNotFound(f"{where}: a configured course or activity does not exist; check the config",
                              wsfunction=wsfunction, errorcode=code)
    if code == "invalidparameter" and wsfunction.startswith("mod_attendance_"):
        return MoodleCapabilityError(
            f"{where}. For attendance this means the role lacks mod/attendance:takeattendances, or the "
            "attendance id is wrong", wsfunction=wsfunction, errorcode=code)
    if code in ("invalidparameter", "invaliduserfield"):
        return MoodleBadRequest(f"{where}: the request was refused; this is a bug or a Moodle version mismatch",
                                wsfunction=wsfunction, errorcode=code)
    return MoodleError(where, wsfunction=wsfunction, errorcode=code)
