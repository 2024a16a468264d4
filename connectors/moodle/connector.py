"""Moodle connector: reads each configured cohort completely and yields it as one batch.

Calls made per cohort (MOODLE-COSTS.md: the user list dominates, everything else is cheap):
course lookup, contents, enrolled users in pages (+ the suspended ones), one call per attendance
activity, and for the defense assignment its grades (`since` the stored cursor) and submissions.
Cohorts are fetched concurrently up to `max_in_flight` while earlier ones are being written.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from connectors.base import (
    AttendanceRecord,
    Batch,
    BatchFailure,
    CohortRef,
    DefenseRecord,
    EnrolmentRecord,
    PersonRecord,
    SessionRecord,
    SourceWarning,
)
from connectors.moodle import schemas as s
from connectors.moodle.client import MoodleClient
from intensive_tracker.config import CohortSettings, MoodleSettings, Settings
from intensive_tracker.errors import InputError, MoodleError, MoodleNotFound, TrackerError
from intensive_tracker.periods import from_unix, local_date, school_year_of, term_of

T = TypeVar("T")
log = logging.getLogger(__name__)
USERFIELDS = "id,username,fullname,firstname,lastname,email,suspended,customfields,roles,groups"
_TAGS = re.compile(r"<[^>]+>")
_SPEAKER = re.compile(r"(?:спикер|ведущий|speaker)\s*[:—-]\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def strip_html(text: str) -> str:
    """Moodle's HTML description → plain text (the topic)."""
    text = re.sub(r"<br\s*/?>|</p>", "\n", text, flags=re.IGNORECASE)
    text = html.unescape(_TAGS.sub("", text))
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def parse(model: Any, data: Any, wsfunction: str) -> Any:
    """Validate an answer; a shape we do not know is bad data, named by function."""
    try:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model.model_validate(data)
        return TypeAdapter(model).validate_python(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{wsfunction}: unexpected answer at {where}: {first['msg']}") from None


class MoodleConnector:
    """Yields one Batch per configured cohort."""

    name = "moodle"

    def __init__(self, settings: Settings, client: MoodleClient) -> None:
        if settings.moodle is None:
            raise TrackerError("the moodle connector needs a [moodle] section")
        self.settings = settings
        self.moodle: MoodleSettings = settings.moodle
        self.client = client
        self._present = {p.casefold() for p in self.moodle.present_statuses}
        self._courses: dict[str, s.Course] = {}

    # -- public -------------------------------------------------------------------------------

    def site_info(self) -> s.SiteInfo:
        """core_webservice_get_site_info: proves the token before anything else is read."""
        return parse(s.SiteInfo, self.client.call("core_webservice_get_site_info"), "core_webservice_get_site_info")

    def batches(self, cursors: Mapping[str, str]) -> Iterator[Batch | BatchFailure]:
        self.site_info()
        cohorts = self.settings.cohorts
        self._prefetch_courses(cohorts)
        # Twice as many cohorts in progress as requests allowed in flight (the client caps those):
        # while one cohort parses a page or waits on its next call, another keeps Moodle busy, and
        # the last cohorts finish together instead of one trailing alone (issue 9, fetch floor).
        with ThreadPoolExecutor(max_workers=2 * self.moodle.max_in_flight, thread_name_prefix="moodle") as pool:
            futures = [pool.submit(self._cohort_or_failure, c, cursors) for c in cohorts]
            for future in futures:
                yield future.result()

    def _prefetch_courses(self, cohorts: list[CohortSettings]) -> None:
        """core_course_get_courses_by_field(field=ids): one lookup for every cohort named by course id.

        Issue 9: a lookup per cohort is a request the region-scale sync does not need. Whatever
        this misses (an unknown id, a failed call) each cohort looks up itself and reports alone.
        """
        ids = sorted({int(c.course) for c in cohorts if str(c.course).isdigit()} - {int(k) for k in self._courses if k.isdigit()})
        if not ids:
            return
        try:
            answer = parse(s.CoursesByField, self.client.call("core_course_get_courses_by_field", field="ids",
                                                              value=",".join(map(str, ids))),
                           "core_course_get_courses_by_field")
        except TrackerError as e:
            log.warning("batched course lookup failed, each cohort looks up its course: %s", e)
            return
        for course in answer.courses:
            self._courses[str(course.id)] = course

    # -- one cohort ---------------------------------------------------------------------------

    def _cohort_or_failure(self, cohort: CohortSettings, cursors: Mapping[str, str]) -> Batch | BatchFailure:
        try:
            return self.read_cohort(cohort, cursors)
        except TrackerError as e:
            return BatchFailure(self.name, cohort.key, e)

    def read_cohort(self, cohort: CohortSettings, cursors: Mapping[str, str]) -> Batch:
        """Everything of one cohort, or an exception: never half a cohort."""
        course = self.find_course(cohort.course)
        contents = parse(list[s.Section], self.client.call("core_course_get_contents", courseid=course.id),
                         "core_course_get_contents")
        modules = [m for section in contents for m in section.modules]
        group_id = self._group_id(course, cohort.group) if cohort.group else None
        warnings: list[SourceWarning] = []

        users = self._enrolled(course.id, group_id)
        suspended_ids = self._suspended_ids(course.id, group_id, warnings)
        people = {u.id: self._person(u) for u in users if self._is_student(u)}
        enrolments = [
            EnrolmentRecord(external_id=str(uid), status="suspended" if uid in suspended_ids else "active")
            for uid in people
        ]

        sessions: list[SessionRecord] = []
        attendance: list[AttendanceRecord] = []
        for module in self._attendance_modules(modules, cohort):
            raw = parse(list[s.AttendanceSession],
                        self.client.call("mod_attendance_get_sessions", attendanceid=module.instance),
                        "mod_attendance_get_sessions")
            for sess in raw:
                if group_id is not None and sess.groupid not in (0, group_id):
                    continue
                key = f"att{module.instance}:{sess.id}"
                sessions.append(self._session(key, sess, cohort))
                by_id = {st.id: st for st in sess.statuses}
                for entry in sess.attendance_log:
                    status = by_id.get(entry.statusid)
                    if status is None:
                        warnings.append(SourceWarning(source=self.name, item="attendance_log", itemid=str(sess.id),
                                                      message=f"status id {entry.statusid} is not in the session's status set"))
                        continue
                    if group_id is not None and entry.studentid not in people and sess.groupid == 0:
                        continue
                    attendance.append(AttendanceRecord(
                        session_key=key, external_id=str(entry.studentid), status=status.acronym,
                        status_label=status.description, present=self._counts_as_present(status)))

        defenses: list[DefenseRecord] = []
        cursor_updates: dict[str, str] = {}
        defenses_complete = True
        assignment = self._defense_assignment(course, cohort, modules)
        if assignment is not None:
            cursor_key = f"grades:{cohort.key}:{assignment.id}"
            since = int(cursors[cursor_key]) if cursor_key in cursors else None
            defenses, newest, warns = self._defenses(assignment, cohort, since)
            warnings.extend(warns)
            defenses_complete = since is None
            if group_id is not None:
                defenses = [d for d in defenses if int(d.external_id) in people]
            if newest is not None:
                cursor_updates[cursor_key] = str(max(newest, since or 0))
            elif since is not None:
                cursor_updates[cursor_key] = str(since)

        # People marked or graded whom Moodle no longer lists: fetch them once so history keeps a name.
        known = set(people)
        strangers = sorted({int(a.external_id) for a in attendance} | {int(d.external_id) for d in defenses} - known)
        strangers = [uid for uid in strangers if uid not in known]
        if strangers:
            for user in self._users_by_id(strangers):
                people[user.id] = self._person(user)

        first = min((x.starts_at for x in sessions), default=None)
        start_day = local_date(first, self.settings.tz) if first else (
            local_date(from_unix(course.startdate), self.settings.tz) if course.startdate else None)
        ref = CohortRef(
            key=cohort.key, program=cohort.program, title=course.fullname, course_id=course.id, group_id=group_id,
            school_year=school_year_of(start_day) if start_day else None,
            term=term_of(start_day) if start_day else None,
        )
        return Batch(
            source=self.name, cohort=ref, people=list(people.values()), enrolments=enrolments,
            sessions=sessions, attendance=attendance, defenses=defenses, defenses_complete=defenses_complete,
            cursors=cursor_updates, warnings=warnings,
        )

    # -- lookups --------------------------------------------------------------------------------

    def find_course(self, ref: int | str) -> s.Course:
        """core_course_get_courses_by_field by id, else shortname, else idnumber."""
        cache_key = str(ref)
        if cache_key in self._courses:
            return self._courses[cache_key]
        lookups = [("id", ref)] if isinstance(ref, int) or str(ref).isdigit() else [("shortname", ref), ("idnumber", ref)]
        for field, value in lookups:
            answer = parse(s.CoursesByField, self.client.call("core_course_get_courses_by_field", field=field, value=value),
                           "core_course_get_courses_by_field")
            if answer.courses:
                self._courses[cache_key] = answer.courses[0]
                return answer.courses[0]
        raise MoodleNotFound(f"course {ref!r} not found by id, shortname or idnumber (or the service user cannot see it)",
                             wsfunction="core_course_get_courses_by_field")

    def _group_id(self, course: s.Course, group: str) -> int:
        groups = parse(list[s.CourseGroup], self.client.call("core_group_get_course_groups", courseid=course.id),
                       "core_group_get_course_groups")
        for g in groups:
            if group in (g.name, g.idnumber, str(g.id)):
                return g.id
        names = ", ".join(g.name for g in groups) or "none"
        raise MoodleNotFound(f"course {course.shortname}: group {group!r} not found (groups: {names})",
                             wsfunction="core_group_get_course_groups")

    def _enrolled(self, course_id: int, group_id: int | None, *, only_suspended: bool = False) -> list[s.EnrolledUser]:
        """core_enrol_get_enrolled_users page by page; each user once even if pages shift."""
        size = self.moodle.page_size
        seen: dict[int, s.EnrolledUser] = {}
        start = 0
        while True:
            options = [{"name": "userfields", "value": USERFIELDS}, {"name": "limitfrom", "value": start},
                       {"name": "limitnumber", "value": size}, {"name": "sortby", "value": "id"},
                       {"name": "sortdirection", "value": "ASC"}]
            if group_id is not None:
                options.append({"name": "groupid", "value": group_id})
            if only_suspended:
                options.append({"name": "onlysuspended", "value": 1})
            page = parse(list[s.EnrolledUser],
                         self.client.call("core_enrol_get_enrolled_users", courseid=course_id, options=options),
                         "core_enrol_get_enrolled_users")
            for user in page:
                seen.setdefault(user.id, user)
            if len(page) < size:
                return list(seen.values())
            start += size

    def _suspended_ids(self, course_id: int, group_id: int | None, warnings: list[SourceWarning]) -> set[int]:
        try:
            return {u.id for u in self._enrolled(course_id, group_id, only_suspended=True)}
        except MoodleError as e:
            # Needs moodle/course:enrolreview; without it the sync goes on and says so.
            warnings.append(SourceWarning(source=self.name, item="course", itemid=str(course_id),
                                          code=e.errorcode or "", message=f"suspended enrolments unknown: {e}"))
            return set()

    def _users_by_id(self, ids: list[int]) -> list[s.UserByField]:
        users: list[s.UserByField] = []
        for start in range(0, len(ids), 200):
            users += parse(list[s.UserByField],
                           self.client.call("core_user_get_users_by_field", field="id", values=ids[start:start + 200]),
                           "core_user_get_users_by_field")
        return users

    def _attendance_modules(self, modules: list[s.Module], cohort: CohortSettings) -> list[s.Module]:
        found = [m for m in modules if m.modname == "attendance" and m.instance is not None]
        if cohort.attendance is None:
            return found
        chosen = []
        for wanted in cohort.attendance:
            match = [m for m in found if wanted in (m.id, m.name, str(m.id))]
            if not match:
                names = ", ".join(f"{m.name} (cmid {m.id})" for m in found) or "none"
                raise MoodleNotFound(f"cohort {cohort.key}: attendance activity {wanted!r} not found "
                                     f"(the course has: {names})", wsfunction="core_course_get_contents")
            chosen += match
        return chosen

    def _defense_assignment(self, course: s.Course, cohort: CohortSettings,
                            modules: list[s.Module]) -> s.Assignment | None:
        if cohort.defense is None:
            return None
        answer = parse(s.Assignments, self.client.call("mod_assign_get_assignments", courseids=[course.id],
                                                       includenotenrolledcourses=1), "mod_assign_get_assignments")
        assignments = [a for c in answer.courses for a in c.assignments]
        for a in assignments:
            if cohort.defense in (a.id, a.cmid, a.name) or str(cohort.defense) == a.name:
                return a
        names = ", ".join(a.name for a in assignments) or "none visible to the service user"
        raise MoodleNotFound(f"cohort {cohort.key}: defense assignment {cohort.defense!r} not found (assignments: {names})",
                             wsfunction="mod_assign_get_assignments")

    # -- records --------------------------------------------------------------------------------

    def _is_student(self, user: s.EnrolledUser) -> bool:
        return any(r.shortname == self.moodle.student_role for r in user.roles)

    def _person(self, user: s.EnrolledUser | s.UserByField) -> PersonRecord:
        fields = {f.shortname: (f.value or "") for f in user.customfields}
        names = self.moodle.profile_fields

        def value(shortname: str) -> str | None:
            text = fields.get(shortname)
            return text if text and text.strip() else None

        return PersonRecord(
            external_id=str(user.id), full_name=" ".join(user.fullname.split()) or f"Moodle #{user.id}",
            email=(user.email or None), district_raw=value(names.district), school=value(names.school),
            position=value(names.position), category=value(names.category), suspended=bool(user.suspended),
        )

    def _counts_as_present(self, status: s.AttendanceStatus) -> bool:
        return status.acronym.casefold() in self._present or status.description.casefold() in self._present

    def _session(self, key: str, sess: s.AttendanceSession, cohort: CohortSettings) -> SessionRecord:
        starts = from_unix(sess.sessdate)
        day: date = local_date(starts, self.settings.tz)
        topic = strip_html(sess.description)
        speaker = cohort.speakers.get(day.isoformat()) or cohort.speakers.get(str(sess.id))
        if speaker is None:
            match = _SPEAKER.search(topic)
            if match:
                speaker = match.group(1).strip()
                topic = _SPEAKER.sub("", topic).strip()
        taken = bool(sess.lasttaken) or bool(sess.attendance_log)
        return SessionRecord(source_key=key, starts_at=starts, duration_s=sess.duration,
                             topic=topic.split("\n")[0] if topic else "", speaker=speaker, taken=taken)

    def _defenses(self, assignment: s.Assignment, cohort: CohortSettings,
                  since: int | None) -> tuple[list[DefenseRecord], int | None, list[SourceWarning]]:
        params: dict[str, Any] = {"assignmentids": [assignment.id]}
        if since is not None:
            params["since"] = since
        grades = parse(s.Grades, self.client.call("mod_assign_get_grades", **params), "mod_assign_get_grades")
        submissions = parse(s.Submissions, self.client.call("mod_assign_get_submissions", assignmentids=[assignment.id]),
                            "mod_assign_get_submissions")
        warnings = [
            SourceWarning(source=self.name, item=w.item or "", itemid=str(w.itemid or ""), code=str(w.warningcode or ""),
                          message=f"{fn}: {w.message}")
            for fn, answer in (("mod_assign_get_grades", grades), ("mod_assign_get_submissions", submissions))
            for w in answer.warnings
            if not (fn == "mod_assign_get_grades" and str(w.warningcode) == "3")  # "No grades found" is no problem
        ]
        latest: dict[int, s.Grade] = {}
        for block in grades.assignments:
            for g in block.grades:
                current = latest.get(g.userid)
                if current is None or (g.attemptnumber, g.timemodified or 0) >= (current.attemptnumber, current.timemodified or 0):
                    latest[g.userid] = g
        records: dict[int, DefenseRecord] = {}
        for uid, g in latest.items():
            value = _grade_value(g.grade)
            graded_at = from_unix(g.timemodified) if g.timemodified else None
            if value is None or value < 0:
                outcome = "pending"
                value, graded_at = None, None
            else:
                outcome = "passed" if self._passes(value, cohort, assignment) else "failed"
            records[uid] = DefenseRecord(external_id=str(uid), outcome=outcome, grade=value,
                                         graded_at=graded_at, attempt=g.attemptnumber)
        for block in submissions.assignments:
            for sub in block.submissions:
                if sub.status == "submitted" and sub.userid not in records:
                    records[sub.userid] = DefenseRecord(external_id=str(sub.userid), outcome="pending",
                                                        attempt=sub.attemptnumber)
        newest = max((g.timemodified or 0 for g in latest.values()), default=None)
        return list(records.values()), newest, warnings

    def _passes(self, grade: float, cohort: CohortSettings, assignment: s.Assignment) -> bool:
        if cohort.pass_scale_items:
            # Scale grades come as the item's position (1-based); items may be named by position.
            return str(int(grade)) in {str(x) for x in cohort.pass_scale_items}
        threshold = cohort.pass_grade
        if threshold is None:
            # gradepass is not exposed by the web services (recordings README): half the maximum.
            threshold = float(assignment.grade or 0) / 2 if (assignment.grade or 0) > 0 else 1.0
        return grade >= threshold


def _grade_value(raw: str | float | None) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None
