"""Pydantic models of the Moodle answers we read, shaped by shared/moodle-recordings.

Unknown keys are ignored (Moodle adds fields between releases); a missing or mistyped field
the sync needs fails validation, which the connector reports as bad data for that cohort.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from typing_extensions import TypedDict


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Warning(_Answer):
    item: str | None = None
    itemid: int | str | None = None
    warningcode: str | int | None = None
    message: str = ""


class SiteFunction(_Answer):
    name: str
    version: str | None = None


class SiteInfo(_Answer):
    """core_webservice_get_site_info"""

    sitename: str
    username: str
    fullname: str | None = None
    userid: int
    siteurl: str
    release: str | None = None
    version: str | None = None
    userissiteadmin: bool = False
    functions: list[SiteFunction] = Field(default_factory=list)


class Course(_Answer):
    id: int
    shortname: str
    fullname: str
    idnumber: str | None = None
    startdate: int | None = None
    enddate: int | None = None
    groupmode: int | None = None
    groupmodeforce: int | None = None


class CoursesByField(_Answer):
    """core_course_get_courses_by_field"""

    courses: list[Course]
    warnings: list[Warning] = Field(default_factory=list)


class Module(_Answer):
    id: int
    name: str
    instance: int | None = None
    modname: str
    visible: int | None = None


class Section(_Answer):
    """core_course_get_contents returns a list of these."""

    id: int
    name: str | None = None
    modules: list[Module] = Field(default_factory=list)


class CustomField(_Answer):
    shortname: str
    value: str | None = None
    name: str | None = None
    type: str | None = None


class Role(_Answer):
    shortname: str
    roleid: int | None = None


class Group(_Answer):
    id: int
    name: str


class EnrolledUser(_Answer):
    """core_enrol_get_enrolled_users returns a list of these."""

    id: int
    username: str | None = None
    fullname: str
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    suspended: bool | None = None
    customfields: list[CustomField] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)


class CourseGroup(_Answer):
    """core_group_get_course_groups returns a list of these."""

    id: int
    courseid: int
    name: str
    idnumber: str | None = None


class UserByField(_Answer):
    """core_user_get_users_by_field returns a list of these."""

    id: int
    fullname: str
    email: str | None = None
    suspended: bool | None = None
    customfields: list[CustomField] = Field(default_factory=list)


class AttendanceStatus(_Answer):
    id: int
    acronym: str
    description: str
    grade: float | None = None


class AttendanceLog(TypedDict):
    """One mark of a session's log. A TypedDict, not a model: validated ten times faster, and a no-op night
    validates every mark of every cohort (issue 17). Unknown keys (`id`, `remarks`) are dropped."""

    studentid: int
    statusid: int  # a string on the wire ("5"); coerced


class AttendanceSession(_Answer):
    """mod_attendance_get_sessions returns a list of these."""

    id: int
    attendanceid: int | None = None
    groupid: int = 0
    sessdate: int
    duration: int = 0
    lasttaken: int | None = None
    description: str = ""
    statuses: list[AttendanceStatus] = Field(default_factory=list)
    attendance_log: list[AttendanceLog] = Field(default_factory=list)
    # Not read: `users` (every user the session lists, as long as the log) and a mark's `remarks` are left to
    # `extra="ignore"`: validating them was a third of a no-op night's validation (issue 17).

    @field_validator("groupid", "duration", "description", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object, info: ValidationInfo) -> object:
        # The plugin's external API declares these optional; a null must not fail a whole cohort.
        if value is None:
            return "" if info.field_name == "description" else 0
        return value


class Assignment(_Answer):
    id: int
    cmid: int
    course: int
    name: str
    grade: int | float | None = None


class AssignmentCourse(_Answer):
    id: int
    shortname: str | None = None
    assignments: list[Assignment] = Field(default_factory=list)


class Assignments(_Answer):
    """mod_assign_get_assignments"""

    courses: list[AssignmentCourse]
    warnings: list[Warning] = Field(default_factory=list)


class Grade(_Answer):
    id: int | None = None
    userid: int
    attemptnumber: int = 0
    timemodified: int | None = None
    grader: int | None = None
    grade: str | float | None = None


class AssignmentGrades(_Answer):
    assignmentid: int
    grades: list[Grade] = Field(default_factory=list)


class Grades(_Answer):
    """mod_assign_get_grades"""

    assignments: list[AssignmentGrades]
    warnings: list[Warning] = Field(default_factory=list)


class Submission(_Answer):
    userid: int
    attemptnumber: int = 0
    status: str
    timemodified: int | None = None
    gradingstatus: str | None = None


class AssignmentSubmissions(_Answer):
    assignmentid: int
    submissions: list[Submission] = Field(default_factory=list)


class Submissions(_Answer):
    """mod_assign_get_submissions"""

    assignments: list[AssignmentSubmissions]
    warnings: list[Warning] = Field(default_factory=list)


# The answer model of every function the connector calls: the stand-in and the recordings are held to these.
RESPONSES: dict[str, Any] = {
    "core_webservice_get_site_info": SiteInfo,
    "core_course_get_courses_by_field": CoursesByField,
    "core_course_get_contents": list[Section],
    "core_group_get_course_groups": list[CourseGroup],
    "core_enrol_get_enrolled_users": list[EnrolledUser],
    "core_user_get_users_by_field": list[UserByField],
    "mod_attendance_get_sessions": list[AttendanceSession],
    "mod_assign_get_assignments": Assignments,
    "mod_assign_get_grades": Grades,
    "mod_assign_get_submissions": Submissions,
}
