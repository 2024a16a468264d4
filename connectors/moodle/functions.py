"""One typed function per Moodle web-service function: the request we send and the model we read.

Parameters are those recorded in shared/moodle-recordings (the same options in the same order),
so replayed recordings answer exactly what the live site answered.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from connectors.moodle import schemas as s
from connectors.moodle.client import MoodleClient
from connectors.moodle.errors import BadAnswer
from intensive_tracker.i18n import _

# Only what the sync stores and `check` asserts; the recorded set (README of the recordings).
USERFIELDS = "id,username,fullname,firstname,lastname,email,suspended,customfields,roles,groups"
SUSPENDED_USERFIELDS = "id,fullname,email,customfields,roles"
USERS_BY_ID_CHUNK = 200

T = TypeVar("T")


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(model: Any) -> TypeAdapter[Any]:
    """One adapter per model: building one costs more than validating a small answer."""
    adapter = _adapters.get(model)
    if adapter is None:
        adapter = _adapters[model] = TypeAdapter(model)
    return adapter


def parse(model: type[T], data: Any, wsfunction: str) -> T:
    """Validate an answer; a shape we do not know is bad data (65), named by function and place."""
    try:
        result: T = _adapter(model).validate_python(data)
    except ValidationError as error:
        raise _bad_answer(error, wsfunction) from None
    return result


def answer(client: MoodleClient, model: type[T], wsfunction: str, **params: Any) -> T:
    """Call `wsfunction` and validate its answer as `parse` does (an array in one pass from the bytes)."""
    try:
        answered: T = client.call_as(wsfunction, _adapter(model), **params)
    except ValidationError as error:
        raise _bad_answer(error, wsfunction) from None
    return answered


def _bad_answer(error: ValidationError, wsfunction: str) -> BadAnswer:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or _("(верхний уровень)")
    return BadAnswer(
        _(
            "{function}: неожиданный ответ в {where}: {problem}; это точно Moodle 4.x с mod_attendance?",
            function=wsfunction,
            where=where,
            problem=first["msg"],
        ),
        wsfunction=wsfunction,
    )


def site_info(client: MoodleClient) -> s.SiteInfo:
    """core_webservice_get_site_info: who the token is, and the functions of its service."""
    return answer(client, s.SiteInfo, "core_webservice_get_site_info")


def courses_by_field(client: MoodleClient, field: str, value: str | int) -> s.CoursesByField:
    """core_course_get_courses_by_field: an unknown value gives an empty list, not an error."""
    return answer(client, s.CoursesByField, "core_course_get_courses_by_field", field=field, value=value)


def course_contents(client: MoodleClient, course_id: int) -> list[s.Section]:
    """core_course_get_contents: sections with their modules (cmid, instance id, modname)."""
    return answer(client, list[s.Section], "core_course_get_contents", courseid=course_id)


def course_groups(client: MoodleClient, course_id: int) -> list[s.CourseGroup]:
    """core_group_get_course_groups (needs moodle/course:managegroups)."""
    return answer(client, list[s.CourseGroup], "core_group_get_course_groups", courseid=course_id)


ENROLLED_USERS = "core_enrol_get_enrolled_users"


def enrolled_users_page(
    client: MoodleClient, course_id: int, *, start: int, size: int, group_id: int | None = None
) -> list[s.EnrolledUser]:
    """core_enrol_get_enrolled_users, one page sorted by id: students and teachers, suspended enrolments included."""
    return enrolled_users_of(
        client, enrolled_users_page_raw(client, course_id, start=start, size=size, group_id=group_id)
    )


def enrolled_users_page_raw(
    client: MoodleClient, course_id: int, *, start: int, size: int, group_id: int | None = None
) -> bytes:
    """`enrolled_users_page`, the answer kept as bytes."""
    options: list[dict[str, Any]] = [
        {"name": "userfields", "value": USERFIELDS},
        {"name": "limitfrom", "value": start},
        {"name": "limitnumber", "value": size},
        {"name": "sortby", "value": "id"},
        {"name": "sortdirection", "value": "ASC"},
    ]
    if group_id is not None:
        options.append({"name": "groupid", "value": group_id})
    return client.call_raw(ENROLLED_USERS, courseid=course_id, options=options)


def enrolled_users_of(client: MoodleClient, content: bytes) -> list[s.EnrolledUser]:
    """The users of an answer of `enrolled_users_page_raw`."""
    return decoded(client, list[s.EnrolledUser], ENROLLED_USERS, content)


class _Entry(BaseModel):
    """Any object: an array's entries counted, none of their fields read."""

    model_config = ConfigDict(extra="ignore")


def entries_in(client: MoodleClient, wsfunction: str, content: bytes) -> int:
    """How many objects an array answer holds, without building them (a whole, well-formed answer is checked)."""
    return len(decoded(client, list[_Entry], wsfunction, content))


def suspended_enrolments(client: MoodleClient, course_id: int, group_id: int | None = None) -> list[s.EnrolledUser]:
    """core_enrol_get_enrolled_users with onlysuspended=1 (needs moodle/course:enrolreview).

    Unpaged: suspended enrolments are few, and one call costs less than paging them.
    """
    options: list[dict[str, Any]] = [
        {"name": "onlysuspended", "value": 1},
        {"name": "userfields", "value": SUSPENDED_USERFIELDS},
    ]
    if group_id is not None:
        options.append({"name": "groupid", "value": group_id})
    return answer(client, list[s.EnrolledUser], "core_enrol_get_enrolled_users", courseid=course_id, options=options)


def users_by_id(client: MoodleClient, ids: list[int]) -> list[s.UserByField]:
    """core_user_get_users_by_field field=id, 200 ids a call; unknown ids are silently skipped by Moodle."""
    users: list[s.UserByField] = []
    for start in range(0, len(ids), USERS_BY_ID_CHUNK):
        users += answer(
            client,
            list[s.UserByField],
            "core_user_get_users_by_field",
            field="id",
            values=ids[start : start + USERS_BY_ID_CHUNK],
        )
    return users


def course_user_profiles(client: MoodleClient, course_id: int, ids: list[int]) -> list[s.EnrolledUser]:
    """core_user_get_course_user_profiles: the users with their roles in the course (users not enrolled are skipped)."""
    users: list[s.EnrolledUser] = []
    for start in range(0, len(ids), USERS_BY_ID_CHUNK):
        userlist = [{"userid": uid, "courseid": course_id} for uid in ids[start : start + USERS_BY_ID_CHUNK]]
        users += answer(client, list[s.EnrolledUser], "core_user_get_course_user_profiles", userlist=userlist)
    return users


def decoded(client: MoodleClient, model: type[T], wsfunction: str, content: bytes) -> T:
    """An answer kept as bytes (`MoodleClient.call_raw`), validated as `answer` validates, with the same errors."""
    try:
        result: T = client.validated(wsfunction, content, _adapter(model))
    except ValidationError as error:
        raise _bad_answer(error, wsfunction) from None
    return result


ATTENDANCE_SESSIONS = "mod_attendance_get_sessions"


def attendance_sessions_raw(client: MoodleClient, attendance_id: int) -> bytes:
    """mod_attendance_get_sessions(attendanceid=<instance id, not cmid>), kept as bytes: see `attendance_sessions`."""
    return client.call_raw(ATTENDANCE_SESSIONS, attendanceid=attendance_id)


def attendance_sessions_of(client: MoodleClient, content: bytes) -> list[s.AttendanceSession]:
    """The sessions, statuses and log rows of an answer of `attendance_sessions_raw`."""
    return decoded(client, list[s.AttendanceSession], ATTENDANCE_SESSIONS, content)


def attendance_sessions(client: MoodleClient, attendance_id: int) -> list[s.AttendanceSession]:
    """mod_attendance_get_sessions(attendanceid=<instance id, not cmid>): sessions, statuses, log rows."""
    return attendance_sessions_of(client, attendance_sessions_raw(client, attendance_id))


def assignments(client: MoodleClient, course_id: int) -> s.Assignments:
    """mod_assign_get_assignments with includenotenrolledcourses=1: the service user is enrolled nowhere."""
    return answer(
        client, s.Assignments, "mod_assign_get_assignments", courseids=[course_id], includenotenrolledcourses=1
    )


def grades(client: MoodleClient, assignment_id: int, since: int | None = None) -> s.Grades:
    """mod_assign_get_grades; `since` returns only grades modified at or after it."""
    params: dict[str, Any] = {"assignmentids": [assignment_id]}
    if since is not None:
        params["since"] = since
    return answer(client, s.Grades, "mod_assign_get_grades", **params)


def submissions(client: MoodleClient, assignment_id: int) -> s.Submissions:
    """mod_assign_get_submissions: every attempt's status; users who never submitted are absent."""
    return answer(client, s.Submissions, "mod_assign_get_submissions", assignmentids=[assignment_id])
