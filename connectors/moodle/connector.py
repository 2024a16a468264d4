"""Moodle connector: reads each configured cohort completely and yields it as one batch.

Calls per cohort (MOODLE-COSTS.md: the user list dominates, everything else is cheap): course
lookup, contents, enrolled users in pages (plus one call for the suspended enrolments), one call per
attendance activity, and for the defense assignment all its grades and submissions. `preflight`
proves the token and the service's functions before anything is read or written. Cohorts are
fetched concurrently up to `max_in_flight` while earlier ones are being written. A cohort whose
answers are those of its last written batch is yielded as unchanged, none of its marks decoded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import ClassVar

from connectors.base import (
    AttendanceRecord,
    Batch,
    BatchFailure,
    CohortRef,
    CohortSkipped,
    CohortUnchanged,
    DefenseRecord,
    EnrolmentRecord,
    SessionRecord,
    SourceWarning,
    answers_cursor_key,
)
from connectors.moodle import errors as e
from connectors.moodle import functions as fn
from connectors.moodle import roster
from connectors.moodle import schemas as s
from connectors.moodle.answers import AnswerDigest
from connectors.moodle.attendance import StatusMatcher, read_sessions, strip_html
from connectors.moodle.client import MoodleClient
from connectors.moodle.defense import outcomes, pass_rule
from connectors.moodle.lookups import CourseLookups
from connectors.moodle.plan import Plan, last_session_key, plan_cohort
from connectors.moodle.service import missing_functions, required_functions
from connectors.moodle.students import StudentFilters
from intensive_tracker.config import CohortSettings, MoodleSettings, Settings
from intensive_tracker.errors import ConfigError, TrackerError
from intensive_tracker.i18n import _, ngettext
from intensive_tracker.periods import from_unix, local_date, school_year_of, term_of, to_unix, utcnow

log = logging.getLogger(__name__)
__all__ = ["MoodleConnector", "parse", "required_functions", "strip_html"]
parse = fn.parse  # kept importable from here: tests and older callers use it (so is required_functions)
# Raise when the records read from the same answers change (a new field, another rule): every cohort's
# stored answers digest then misses once and the cohort is read in full.
READING_VERSION = "1"
NO_GRADES = "3"  # mod_assign_get_grades warning "No grades found": an assignment nobody was graded in yet


def grades_cursor_key(cohort: CohortSettings, assignment: s.Assignment) -> str:
    return f"grades:{cohort.key}:{assignment.id}"


@dataclass(frozen=True)
class StoredAnswers:
    """The value of a cohort's answers cursor: the digest of the answers its batch was read from, the strangers
    whose profiles it asked for (and the digest of that answer), and the warnings the batch gave."""

    digest: str
    profiles: list[int]
    profiles_digest: str
    warnings: list[SourceWarning]

    def dump(self) -> str:
        return json.dumps(
            {
                "digest": self.digest,
                "profiles": self.profiles,
                "profiles_digest": self.profiles_digest,
                "warnings": [w.model_dump(mode="json") for w in self.warnings],
            },
            ensure_ascii=False,
        )

    @classmethod
    def parse(cls, value: str | None) -> StoredAnswers | None:
        """None for no cursor, or one this version cannot read: the cohort is then read in full."""
        if not value:
            return None
        try:
            data = json.loads(value)
            return cls(
                str(data["digest"]),
                [int(i) for i in data["profiles"]],
                str(data["profiles_digest"]),
                [SourceWarning.model_validate(w) for w in data["warnings"]],
            )
        except (ValueError, KeyError, TypeError):
            return None


class MoodleConnector(CourseLookups, StudentFilters):
    """Yields one Batch per configured cohort, or a BatchFailure naming why that cohort could not be read."""

    name = "moodle"
    order: ClassVar[int] = 10  # first: forms join its people by e-mail

    @classmethod
    def from_settings(cls, settings: Settings, stack: ExitStack) -> MoodleConnector | None:
        """The connector for `[moodle]` with cohorts, its token and functions proven; None when not configured."""
        if settings.moodle is None or not settings.cohorts:
            return None
        from connectors.moodle.factory import moodle_client

        connector = cls(settings, stack.enter_context(moodle_client(settings)))
        # Token and service functions are proven before the sync writes anything (issue 3).
        connector.preflight()
        return connector

    def __init__(self, settings: Settings, client: MoodleClient) -> None:
        if settings.moodle is None:
            raise ConfigError(_("коннектору Moodle нужен раздел [moodle]"))
        self.settings = settings
        self.moodle: MoodleSettings = settings.moodle
        self.client = client
        self.matcher = StatusMatcher.from_config(self.moodle.present_statuses)
        self._courses: dict[str, s.Course] = {}
        self._site: s.SiteInfo | None = None
        self._preflight_passed = False
        self.clock = utcnow  # tests inject theirs: which cohorts count as finished depends on it
        self.full = False  # sync --full: every cohort fetched fully tonight

    def request_full(self) -> None:
        """`sync --full`: fetch every cohort fully, finished or not."""
        self.full = True

    # -- public -------------------------------------------------------------------------------

    def site_info(self) -> s.SiteInfo:
        """core_webservice_get_site_info, once per connector."""
        if self._site is None:
            self._site = fn.site_info(self.client)
        return self._site

    def preflight(self) -> s.SiteInfo:
        """Token accepted and every needed function in its service, or the error that stops the whole sync.

        Called before the sync writes anything, so a wrong token, a missing function or an
        unreachable site leave the database untouched.
        """
        site = self.site_info()
        if self._preflight_passed:  # from_settings proved it already; batches() asks again: said once
            return site
        log.info(
            _(
                "Moodle {release} по адресу {url}, пользователь службы {user}",
                release=site.release or site.version,
                url=self.client.base_url,
                user=site.username,
            )
        )
        missing = missing_functions(self.settings, site)
        if missing:
            raise e.FunctionNotInService(
                ngettext(
                    "в службе токена нет {n} функции, нужной настроенным когортам: {names}. Добавьте её: {path}",
                    "в службе токена нет {n} функций, нужных настроенным когортам: {names}. Добавьте их: {path}",
                    len(missing),
                    names=", ".join(missing),
                    path=_(e.SERVICE_FUNCTIONS_PATH),
                ),
                wsfunction=missing[0],
                errorcode="accessexception",
            )
        self._preflight_passed = True
        return site

    def batches(self, cursors: Mapping[str, str]) -> Iterator[Batch | BatchFailure | CohortSkipped | CohortUnchanged]:
        self.preflight()
        cohorts = self.settings.cohorts
        self._prefetch_courses(cohorts)
        # Twice as many cohorts in progress as requests allowed in flight (the client caps those):
        # while one cohort parses a page or waits on its next call, another keeps Moodle busy, and
        # the last cohorts finish together instead of one trailing alone (issue 9, fetch floor).
        pool = ThreadPoolExecutor(max_workers=2 * self.moodle.max_in_flight, thread_name_prefix="moodle")
        try:
            futures = [pool.submit(self._cohort_or_failure, c, cursors) for c in cohorts]
            for future in futures:
                yield future.result()
        finally:
            # A sync stopped early (SIGTERM) closes this generator: drop the cohorts not yet started
            # instead of fetching them all before the process may exit.
            pool.shutdown(wait=True, cancel_futures=True)

    def _prefetch_courses(self, cohorts: list[CohortSettings]) -> None:
        """core_course_get_courses_by_field(field=ids): one lookup for every cohort named by course id.

        Issue 9: a lookup per cohort is a request the region-scale sync does not need. Whatever
        this misses (an unknown id, a failed call) each cohort looks up itself and reports alone.
        """
        ids = sorted(
            {int(c.course) for c in cohorts if str(c.course).strip().isdigit()}
            - {int(k) for k in self._courses if k.isdigit()}
        )
        if not ids:
            return
        try:
            answer = fn.courses_by_field(self.client, "ids", ",".join(map(str, ids)))
        except TrackerError as error:
            log.warning(_("общий поиск курсов не удался, каждая когорта ищет свой курс сама: {error}", error=error))
            return
        for course in answer.courses:
            self._courses[str(course.id)] = course

    # -- one cohort ---------------------------------------------------------------------------

    def _cohort_or_failure(
        self, cohort: CohortSettings, cursors: Mapping[str, str]
    ) -> Batch | BatchFailure | CohortSkipped | CohortUnchanged:
        try:
            plan = plan_cohort(cohort, cursors, now=self.clock(), moodle=self.moodle, full=self.full)
            if plan.mode == "incremental":
                changed = self._grade_changed_since(plan, cursors)
                if changed is None:
                    return CohortSkipped(
                        self.name, cohort.key, _("{reason}; защиты нет, запросов нет", reason=plan.reason)
                    )
                if not changed:
                    return CohortSkipped(
                        self.name, cohort.key, _("{reason}; новых оценок нет", reason=plan.reason), mode="incremental"
                    )
                plan = Plan("full", _("{reason}, но изменилась оценка защиты", reason=plan.reason))
            batch = self.read_cohort(cohort, cursors)
        except TrackerError as error:
            return BatchFailure(self.name, cohort.key, error)
        if isinstance(batch, CohortUnchanged):
            batch.mode, batch.reason = plan.mode, _("{reason}; ответы Moodle не изменились", reason=plan.reason)
            return batch
        if batch.sessions:
            batch.cursors[last_session_key(cohort)] = str(max(to_unix(x.starts_at) for x in batch.sessions))
        batch.refresh = (plan.mode, plan.reason)
        return batch

    def _grade_changed_since(self, plan: Plan, cursors: Mapping[str, str]) -> bool | None:
        """One `mod_assign_get_grades since` request: did a grade change after the cursor? None: no defense."""
        if plan.grades_key is None:
            return None
        since = int(cursors[plan.grades_key])
        assignment_id = int(plan.grades_key.rsplit(":", 1)[1])
        grades = fn.grades(self.client, assignment_id, since)
        return any((g.timemodified or 0) > since for block in grades.assignments for g in block.grades)

    def read_cohort(self, cohort: CohortSettings, cursors: Mapping[str, str]) -> Batch | CohortUnchanged:
        """Everything of one cohort, or an exception: never half a cohort.

        Every answer goes into the cohort's digest as it comes; the attendance answers (most of the bytes)
        stay undecoded until the digest is compared with the one stored with the batch last written. The
        same: a CohortUnchanged, none of them decoded and no record built (issue 17).
        """
        warnings: list[SourceWarning] = []
        digest = AnswerDigest()
        with self.client.digesting(digest):
            course = self.find_course(cohort.course, warnings)
            modules = [m for section in fn.course_contents(self.client, course.id) for m in section.modules]
            group_id = self.find_group(course, cohort.group) if cohort.group else None
            pages = self.enrolled_pages(course.id, group_id)
            suspended_ids = self._suspended_ids(course.id, group_id, warnings)
            attendance: list[tuple[int, bytes]] = []
            for module in self.attendance_modules(modules, cohort):
                assert module.instance is not None
                attendance.append((module.instance, fn.attendance_sessions_raw(self.client, module.instance)))
            defense = self._defense_answers(course, cohort, warnings)
        digest.note("read", self._reading_rules(cohort, course))
        stored = StoredAnswers.parse(cursors.get(answers_cursor_key(cohort.key)))
        if stored is not None and not self.full and stored.digest == digest.hexdigest():
            if not stored.profiles or self._profiles_digest(course.id, stored.profiles) == stored.profiles_digest:
                return CohortUnchanged(self.name, cohort.key, reason="", warnings=stored.warnings)

        enrolled = self.enrolled_of(pages)
        students = {u.id: u for u in enrolled if self._is_student(u)}
        others = {u.id for u in enrolled} - set(students)  # teachers: listed, never participants
        people = {uid: self._person(u) for uid, u in students.items()}
        enrolments = [
            EnrolmentRecord(external_id=str(uid), status="suspended" if uid in suspended_ids else "active")
            for uid in people
        ]
        sessions: list[SessionRecord] = []
        marks: list[AttendanceRecord] = []
        for instance, content in attendance:
            read = read_sessions(
                fn.attendance_sessions_of(self.client, content),
                instance=instance,
                tz=self.settings.tz,
                matcher=self.matcher,
                speakers=cohort.speakers,
                group_id=group_id,
                members=set(students) if group_id is not None else None,
                source=self.name,
            )
            sessions += read.sessions
            marks += read.marks
            warnings += read.warnings
        defenses, cursor_updates = self._defenses(cohort, defense, cursors, warnings)
        if group_id is not None:
            defenses = [d for d in defenses if int(d.external_id) in people]

        referenced = {int(a.external_id) for a in marks} | {int(d.external_id) for d in defenses}
        implausible = roster.judge(
            cohort.key,
            enrolled,
            self.moodle.student_role,
            referenced=referenced - others,
            cursors=cursors,
            drop_limit=self.moodle.roster_drop_limit,
        )
        if implausible is not None:  # a hidden roster is a failed cohort, never a change (issue 12)
            raise implausible
        cursor_updates.update(roster.roster_cursors(cohort.key, list(students.values())))
        marks, defenses = self._drop_non_students(marks, defenses, others, cohort, warnings)
        strangers = self.stranger_ids(people, marks, defenses)  # before `_strangers` adds the confirmed ones
        profiles = AnswerDigest()
        with self.client.digesting(profiles):  # the one answer that depends on the marks: digested apart
            marks, defenses = self._strangers(course.id, people, marks, defenses, cohort, warnings)
        asked = strangers if strangers and self.profiles_available() else []
        cursor_updates[answers_cursor_key(cohort.key)] = StoredAnswers(
            digest.hexdigest(), asked, profiles.hexdigest() if asked else "", warnings
        ).dump()
        return Batch(
            source=self.name,
            cohort=self._cohort_ref(cohort, course, group_id, sessions),
            people=list(people.values()),
            enrolments=enrolments,
            sessions=sessions,
            attendance=marks,
            defenses=defenses,
            cursors=cursor_updates,
            warnings=warnings,
            not_participants=[str(uid) for uid in sorted(others)],
        )

    def _profiles_digest(self, course_id: int, ids: list[int]) -> str:
        profiles = AnswerDigest()
        with self.client.digesting(profiles):
            fn.course_user_profiles(self.client, course_id, ids)
        return profiles.hexdigest()

    def _reading_rules(self, cohort: CohortSettings, course: s.Course) -> str:
        """What besides this read's answers shapes its records: the course (from the connector's shared lookup),
        the cohort's and the reading settings, the zone, the service's functions and the rules' version. Not
        the address, timeouts or paths: they change how the answers come, not what is read from them."""
        rules = self.moodle.model_dump(
            mode="json", include={"present_statuses", "student_role", "roster_drop_limit", "profile_fields"}
        )
        functions = sorted(f.name for f in self.site_info().functions)
        return json.dumps(
            [
                READING_VERSION,
                course.model_dump(mode="json"),
                cohort.model_dump(mode="json"),
                rules,
                self.settings.timezone,
                functions,
            ],
            sort_keys=True,
            default=str,
        )

    def _cohort_ref(
        self, cohort: CohortSettings, course: s.Course, group_id: int | None, sessions: list[SessionRecord]
    ) -> CohortRef:
        # The half-year comes from the first session's Moscow date, else the course start.
        first = min((x.starts_at for x in sessions), default=None)
        start_day = (
            local_date(first, self.settings.tz)
            if first
            else (local_date(from_unix(course.startdate), self.settings.tz) if course.startdate else None)
        )
        return CohortRef(
            key=cohort.key,
            program=cohort.program,
            title=course.fullname,
            course_id=course.id,
            group_id=group_id,
            school_year=school_year_of(start_day) if start_day else None,
            term=term_of(start_day) if start_day else None,
        )

    # -- records --------------------------------------------------------------------------------

    def _defense_answers(
        self, course: s.Course, cohort: CohortSettings, warnings: list[SourceWarning]
    ) -> tuple[s.Assignment, s.Grades, s.Submissions] | None:
        """The defense assignment with all its grades and submissions; None when the cohort has no defense.

        Every grade, every time the cohort is read: a few dozen kilobytes (MOODLE-COSTS.md), a grade removed
        in Moodle is seen, and the same grades give the same answer, so an unchanged cohort's digest matches
        (a `since` pull differs from the complete one before it)."""
        assignment = self.defense_assignment(course, cohort, warnings)
        if assignment is None:
            return None
        return assignment, fn.grades(self.client, assignment.id), fn.submissions(self.client, assignment.id)

    def _defenses(
        self,
        cohort: CohortSettings,
        answers: tuple[s.Assignment, s.Grades, s.Submissions] | None,
        cursors: Mapping[str, str],
        warnings: list[SourceWarning],
    ) -> tuple[list[DefenseRecord], dict[str, str]]:
        """The defense records, and the grades cursor: the newest grade change, for the one `since` request
        of a finished cohort (`_grade_changed_since`)."""
        if answers is None:
            return [], {}
        assignment, grades, subs = answers
        rule = pass_rule(cohort, assignment)
        key = grades_cursor_key(cohort, assignment)
        warnings += self._warnings(
            "mod_assign_get_grades", [w for w in grades.warnings if str(w.warningcode) != NO_GRADES]
        )
        warnings += self._warnings("mod_assign_get_submissions", subs.warnings)
        all_grades = [g for block in grades.assignments if block.assignmentid == assignment.id for g in block.grades]
        all_subs = [x for block in subs.assignments if block.assignmentid == assignment.id for x in block.submissions]
        # mod_assign_get_assignments: a positive `grade` is the maximum points, a negative one a scale's id.
        grade_max = float(assignment.grade) if assignment.grade is not None and assignment.grade > 0 else None
        records = outcomes(all_grades, all_subs, rule, incremental=False, grade_max=grade_max)
        # Moodle's `since` is inclusive, so the finished cohort's look re-reads the newest grade: harmless.
        newest = max((g.timemodified or 0 for g in all_grades), default=0)
        cursor = max(newest, int(cursors.get(key, "0") or 0))
        return records, ({key: str(cursor)} if cursor else {})
