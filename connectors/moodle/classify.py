"""Moodle's exception bodies → typed errors; the codes and messages are those of the recordings.

Moodle says *that* a capability is missing, rarely *which*: the capability is named from the
function called and the error code, following the measurements in shared/MOODLE-SETUP.md §2.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.moodle import errors as e

SITE_INFO = "core_webservice_get_site_info"

# The display names Moodle puts in parentheses after "permissions to do that (…)".
_CAPABILITY_NAMES = {
    "review permissions for others": "moodle/role:review",
    "review course enrolments": "moodle/course:enrolreview",
    "manage groups": "moodle/course:managegroups",
    "view participants": "moodle/course:viewparticipants",
    "take attendance": "mod/attendance:takeattendances",
    "view grades": "mod/assign:viewgrades",
    "view user profiles": "moodle/user:viewdetails",
}
# What the role lacks when the course (or the activity) cannot be reached (MOODLE-SETUP.md §2).
_REACH = {
    "mod_attendance_get_sessions": "moodle/course:view and mod/attendance:view",
}
_PARENS = re.compile(r"\(([^()]*)\)\.?\s*$")


def classify(
    body: Mapping[str, Any],
    *,
    wsfunction: str,
    base_url: str = "Moodle",
    token_hint: str = "INTENSIVE_TRACKER_MOODLE_TOKEN",
) -> e.MoodleError:
    """The typed error for a Moodle exception body `{"exception", "errorcode", "message"}`."""
    code = str(body.get("errorcode", ""))
    message = " ".join(str(body.get("message", "")).split())[:300]
    said = f"{wsfunction}: Moodle says «{message}» ({code})"
    if code == "invalidtoken":
        return e.InvalidToken(
            f"{base_url} rejected the token: it is unknown or was deleted (Moodle deletes an expired token on its "
            f"first use). Create a new token for the service user (Site administration → Server → Web services → "
            f"Manage tokens) and put it in the environment variable {token_hint}",
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "accessexception":
        if wsfunction == SITE_INFO:
            return e.AccessDenied(
                f"{base_url} denied the token (accessexception): it has expired, the caller's IP address is not "
                "allowed, the user is not among the service's authorised users, or the role lacks "
                "webservice/rest:use at system level. Moodle does not say which: check the token's «Valid until» and "
                "«IP restriction», and the service's «Authorised users»",
                wsfunction=wsfunction,
                errorcode=code,
            )
        return e.FunctionNotInService(
            f"{wsfunction} is not in the token's service: add it in {e.SERVICE_FUNCTIONS_PATH}",
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "sitemaintenance":
        return e.Maintenance(
            f"{base_url} is in maintenance mode; run the sync again when the site is back",
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "invalidrecord" and "external_functions" in message:
        plugin = (
            "mod_attendance (Attendance)" if wsfunction.startswith("mod_attendance_") else "the plugin providing it"
        )
        return e.FunctionUnknown(
            f"{wsfunction} does not exist on {base_url}: install {plugin}, then add the function "
            f"to the service ({e.SERVICE_FUNCTIONS_PATH})",
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "nopermissions":
        capability = _capability_from_message(message)
        return e.MissingCapability(
            f"{said}. Give the service user's role the capability {capability} ({e.ROLE_PATH})",
            capability=capability,
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code in ("requireloginerror", "errorcoursecontextnotvalid"):
        if "Invalid parameter" in message:
            return e.UnknownCourse(
                f"{said}: the course does not exist; check the cohort's course in the config",
                wsfunction=wsfunction,
                errorcode=code,
            )
        capability = _REACH.get(wsfunction, "moodle/course:view")
        return e.MissingCapability(
            f"{said}. The service user cannot reach the course: give its role {capability}, assigned at system level "
            f"({e.ROLE_PATH})",
            capability=capability,
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "invalidparameter" and wsfunction == "mod_attendance_get_sessions":
        # mod_attendance answers a missing takeattendances with invalidparameter (recordings README).
        return e.MissingCapability(
            f"{said}. The role lacks mod/attendance:takeattendances, which mod_attendance_get_sessions requires "
            f"({e.ROLE_PATH}); or the attendance id is wrong",
            capability="mod/attendance:takeattendances",
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "invalidrecord" and " course" in message:
        return e.UnknownCourse(
            f"{said}: the course does not exist; check the cohort's course in the config",
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code in ("invalidrecord", "invalidrecordunknown"):
        return e.UnknownActivity(
            f"{said}: a configured activity does not exist (any more); check the cohort in the "
            "config and run `intensive-tracker check`",
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "invaliduser":
        return e.MoodleNotFound(f"{said}: the user does not exist", wsfunction=wsfunction, errorcode=code)
    if code in ("invalidparameter", "invaliduserfield"):
        return e.InvalidParameter(
            f"{said}: Moodle refused the request's parameters; this Moodle version may differ "
            "from 4.5 — report it with the message above",
            wsfunction=wsfunction,
            errorcode=code,
        )
    return e.MoodleError(f"{said}", wsfunction=wsfunction, errorcode=code)


def _capability_from_message(message: str) -> str:
    match = _PARENS.search(message)
    if not match:
        return "(not named by Moodle; see MOODLE-SETUP in the README)"
    shown = match.group(1).strip()
    return _CAPABILITY_NAMES.get(shown.lower(), shown)
