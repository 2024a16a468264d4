"""`check`: a checklist an administrator can act on, one line per item, before the first sync.

It makes the calls the sync makes (first page of users only), asserts the silent failures that
shared/MOODLE-SETUP.md §5 lists (an empty or teachers-only user list, no e-mails, warning code 1,
an activity missing from contents, no course dates), and never writes the database.

Exit code: 0 when every item passes; otherwise that of the most severe failing item, in this
order: 69 unreachable > 77 token/function/capability > 78 configuration > 65 bad data.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from connectors.moodle import errors as e
from connectors.moodle import functions as fn
from connectors.moodle import roster
from connectors.moodle import schemas as s
from connectors.moodle.client import MoodleClient
from connectors.moodle.connector import MoodleConnector, missing_functions, required_functions
from connectors.moodle.defense import pass_rule
from intensive_tracker.config import CohortSettings, Settings
from intensive_tracker.errors import TrackerError

SEVERITY = (69, 77, 78, 65)  # most severe first
ASSIGN_NO_ACCESS = "1"  # mod_assign warning code: "No access rights in module context"
SEPARATE_GROUPS = 1  # course.groupmode: 0 none, 1 separate, 2 visible


@dataclass
class Item:
    """One line of the checklist; `status` is ok, fail or warn (a warning does not fail the check)."""

    item: str
    status: str
    detail: str
    fix: str = ""
    exit_code: int = 0


@dataclass
class Checklist:
    items: list[Item] = field(default_factory=list)
    site: dict[str, Any] = field(default_factory=dict)

    def ok(self, item: str, detail: str) -> None:
        self.items.append(Item(item, "ok", detail))

    def warn(self, item: str, detail: str, fix: str = "") -> None:
        self.items.append(Item(item, "warn", detail, fix))

    def fail(self, item: str, detail: str, fix: str = "", *, exit_code: int) -> None:
        self.items.append(Item(item, "fail", detail, fix, exit_code))

    def error(self, item: str, error: TrackerError) -> None:
        """A failing call as a red line; the error's message already says what to do."""
        self.fail(item, str(error), exit_code=error.exit_code)

    @property
    def passed(self) -> bool:
        return all(i.status != "fail" for i in self.items)

    @property
    def exit_code(self) -> int:
        codes = [i.exit_code for i in self.items if i.status == "fail"]
        if not codes:
            return 0
        return min(codes, key=lambda c: SEVERITY.index(c) if c in SEVERITY else len(SEVERITY))

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.passed,
            "exit_code": self.exit_code,
            "site": self.site,
            "items": [asdict(i) for i in self.items],
        }


def run_check(settings: Settings, client: MoodleClient) -> Checklist:
    """Every item of the checklist for this config and Moodle; stops early only when nothing further can be asked."""
    checklist = Checklist()
    connector = MoodleConnector(settings, client)
    site = _site(checklist, client)
    if site is None:
        return checklist
    _functions(checklist, settings, site)
    present = {f.name for f in site.functions}
    seen_fields: set[str] = set()
    probed_users = 0
    for cohort in settings.cohorts:
        users = _cohort(checklist, connector, cohort, present)
        for user in users:
            seen_fields |= {f.shortname for f in user.customfields}
        probed_users += len(users)
    _profile_fields(checklist, settings, seen_fields, probed_users)
    return checklist


def _site(checklist: Checklist, client: MoodleClient) -> s.SiteInfo | None:
    try:
        site = fn.site_info(client)
    except e.MoodleUnavailable as error:
        checklist.error(f"Moodle reachable at {client.base_url}", error)
        return None
    except TrackerError as error:
        checklist.ok(f"Moodle reachable at {client.base_url}", "the site answers")
        label = "web services enabled" if isinstance(error, e.WebServicesDisabled) else "token accepted"
        checklist.error(label, error)
        return None
    checklist.ok(f"Moodle reachable at {client.base_url}", "the site answers web-service calls")
    attendance = sorted({f.version or "?" for f in site.functions if f.name.startswith("mod_attendance_")})
    checklist.site = {
        "sitename": site.sitename,
        "release": site.release,
        "version": site.version,
        "username": site.username,
        "userissiteadmin": site.userissiteadmin,
        "attendance_version": attendance[0] if attendance else None,
    }
    checklist.ok(
        "token accepted",
        f"site «{site.sitename}», Moodle {site.release or site.version or '?'}, service user {site.username}",
    )
    if site.userissiteadmin:
        checklist.warn(
            "least privilege",
            f"the service user {site.username} is a site administrator",
            "give the token to a dedicated user with only the read capabilities of the README",
        )
    return site


def _functions(checklist: Checklist, settings: Settings, site: s.SiteInfo) -> None:
    missing = missing_functions(settings, site)
    needed = required_functions(settings)
    if not missing:
        checklist.ok("web-service functions", f"all {len(needed)} the config needs are in the token's service")
    for name in missing:
        checklist.fail(
            f"function {name}", "not in the token's service", f"add it in {e.SERVICE_FUNCTIONS_PATH}", exit_code=77
        )


def _call(checklist: Checklist, item: str, present: set[str], wsfunction: str, action: Callable[[], Any]) -> Any:
    """Run one probe; a failure becomes a red line and None. A function missing from the service is not called."""
    if wsfunction not in present:
        checklist.fail(
            item,
            f"not checked: {wsfunction} is not in the token's service",
            f"add it in {e.SERVICE_FUNCTIONS_PATH}",
            exit_code=77,
        )
        return None
    try:
        return action()
    except TrackerError as error:
        checklist.error(item, error)
        return None


def _cohort(
    checklist: Checklist, connector: MoodleConnector, cohort: CohortSettings, present: set[str]
) -> list[s.EnrolledUser]:
    """The cohort's course, group, attendance, defense and first page of users; returns that page's students."""
    label = f"cohort {cohort.key}"
    course = _call(
        checklist,
        f"{label}: course {cohort.course!r}",
        present,
        "core_course_get_courses_by_field",
        lambda: connector.find_course(cohort.course),
    )
    if course is None:
        return []
    if course.startdate is None:
        checklist.fail(
            f"{label}: course «{course.fullname}»",
            "found, but without its dates",
            f"give the role moodle/course:view ({e.ROLE_PATH})",
            exit_code=77,
        )
    else:
        checklist.ok(f"{label}: course", f"«{course.fullname}» (id {course.id}, shortname {course.shortname})")
    group_id = None
    if cohort.group:
        group_id = _call(
            checklist,
            f"{label}: group {cohort.group!r}",
            present,
            "core_group_get_course_groups",
            lambda: connector.find_group(course, cohort.group or ""),
        )
        if group_id is None:
            return []
        checklist.ok(f"{label}: group", f"{cohort.group!r} (id {group_id})")
    sections = _call(
        checklist,
        f"{label}: course contents",
        present,
        "core_course_get_contents",
        lambda: fn.course_contents(connector.client, course.id),
    )
    if sections is not None:
        modules = [m for section in sections for m in section.modules]
        _attendance(checklist, connector, cohort, modules, present, label)
        _defense(checklist, connector, cohort, course, modules, present, label)
    return _users(checklist, connector, cohort, course.id, group_id, present, label)


def _attendance(
    checklist: Checklist,
    connector: MoodleConnector,
    cohort: CohortSettings,
    modules: list[s.Module],
    present: set[str],
    label: str,
) -> None:
    if cohort.attendance == []:
        return
    chosen = _call(
        checklist,
        f"{label}: attendance",
        present,
        "core_course_get_contents",
        lambda: connector.attendance_modules(modules, cohort),
    )
    if chosen is None:
        return
    if not chosen:
        checklist.fail(
            f"{label}: attendance",
            "no attendance activity visible in the course",
            f"add one to the course, or give the role mod/attendance:view ({e.ROLE_PATH})",
            exit_code=78,
        )
        return
    matcher = connector.matcher
    for module in chosen:
        item = f"{label}: attendance «{module.name}» (cmid {module.id})"
        instance = int(module.instance or 0)
        sessions = _call(
            checklist,
            item,
            present,
            "mod_attendance_get_sessions",
            functools.partial(fn.attendance_sessions, connector.client, instance),
        )
        if sessions is None:
            continue
        statuses = {(st.acronym, st.description): matcher.counts_as_present(st) for x in sessions for st in x.statuses}
        counted = [f"«{a} {d}»" for (a, d), yes in sorted(statuses.items()) if yes]
        taken = sum(1 for x in sessions if x.lasttaken or x.attendance_log)
        if statuses and not counted:
            shown = ", ".join(f"«{a} {d}»" for a, d in sorted(statuses))
            checklist.fail(
                item,
                f"none of its statuses ({shown}) counts as present",
                "list the present statuses in moodle.present_statuses",
                exit_code=78,
            )
            continue
        checklist.ok(
            item,
            f"{len(sessions)} sessions ({taken} taken); counted as present: {', '.join(counted) or 'no statuses yet'}",
        )


def _defense(
    checklist: Checklist,
    connector: MoodleConnector,
    cohort: CohortSettings,
    course: s.Course,
    modules: list[s.Module],
    present: set[str],
    label: str,
) -> None:
    if cohort.defense is None:
        return
    item = f"{label}: defense {cohort.defense!r}"
    warnings: list[Any] = []
    assignment = _call(
        checklist,
        item,
        present,
        "mod_assign_get_assignments",
        lambda: connector.defense_assignment(course, cohort, warnings),
    )
    if assignment is None:
        return
    item = f"{label}: defense «{assignment.name}» (cmid {assignment.cmid})"
    try:
        rule = pass_rule(cohort, assignment)
    except TrackerError as error:
        checklist.error(item, error)
        return
    if not any(m.id == assignment.cmid for m in modules):
        checklist.fail(
            item,
            "not among the course contents the service user sees",
            f"give the role mod/assign:view ({e.ROLE_PATH})",
            exit_code=77,
        )
        return
    grades = _call(
        checklist, item, present, "mod_assign_get_grades", lambda: fn.grades(connector.client, assignment.id)
    )
    subs = _call(
        checklist, item, present, "mod_assign_get_submissions", lambda: fn.submissions(connector.client, assignment.id)
    )
    if grades is None or subs is None:
        return
    if any(str(w.warningcode) == ASSIGN_NO_ACCESS for w in [*grades.warnings, *subs.warnings]):
        # In a course forced into separate groups, Moodle answers code 1 when the role lacks
        # moodle/site:accessallgroups, although it has mod/assign:view and :viewgrades (issue 12).
        forced_groups = course.groupmode == SEPARATE_GROUPS and bool(course.groupmodeforce)
        fix = (
            f"give the role {roster.ACCESS_ALL_GROUPS}: the course is forced into separate groups ({e.ROLE_PATH})"
            if forced_groups
            else f"give the role {roster.ACCESS_ALL_GROUPS} (a course in separate-groups mode), "
            f"mod/assign:view and mod/assign:viewgrades ({e.ROLE_PATH})"
        )
        checklist.fail(item, "Moodle answers «No access rights in module context» (warning code 1)", fix, exit_code=77)
        return
    for w in warnings:  # already SourceWarnings, named by function
        checklist.warn(item, f"Moodle warns: {w.message} (code {w.code}, {w.item} {w.itemid})")
    for w in [*grades.warnings, *subs.warnings]:
        if str(w.warningcode) != "3":  # "No grades found" only means nobody is graded yet
            checklist.warn(item, f"Moodle warns: {w.message} (code {w.warningcode}, {w.item} {w.itemid})")
    counted = sum(len(b.grades) for b in grades.assignments)
    submitted = sum(len(b.submissions) for b in subs.assignments)
    scale = "a scale" if (assignment.grade or 0) < 0 else f"points out of {assignment.grade:g}"
    checklist.ok(item, f"graded with {scale}; {rule.describe()}; {counted} grades, {submitted} submissions")


def _users(
    checklist: Checklist,
    connector: MoodleConnector,
    cohort: CohortSettings,
    course_id: int,
    group_id: int | None,
    present: set[str],
    label: str,
) -> list[s.EnrolledUser]:
    item = f"{label}: enrolled users"
    size = connector.moodle.page_size
    page = _call(
        checklist,
        item,
        present,
        "core_enrol_get_enrolled_users",
        lambda: fn.enrolled_users_page(connector.client, course_id, start=0, size=size, group_id=group_id),
    )
    if page is None:
        return []
    role = connector.moodle.student_role
    students = [u for u in page if any(r.shortname == role for r in u.roles)]
    found = roster.diagnose(page, role)  # the same rules the sync fails a cohort by
    if found is not None:
        checklist.fail(item, found.detail, found.fix, exit_code=77)
        if not students:
            return []
    else:
        more = " or more" if len(page) == size else ""
        checklist.ok(
            item, f"{len(page)}{more} listed on the first page, {len(students)} with the role «{role}», e-mails visible"
        )
    suspended = _call(
        checklist,
        f"{label}: suspended enrolments",
        present,
        "core_enrol_get_enrolled_users",
        lambda: fn.suspended_enrolments(connector.client, course_id, group_id),
    )
    if suspended is not None:
        checklist.ok(f"{label}: suspended enrolments", f"readable ({len(suspended)} now)")
    return students


def _profile_fields(checklist: Checklist, settings: Settings, seen: set[str], probed: int) -> None:
    if settings.moodle is None or not probed:
        return
    wanted = settings.moodle.profile_fields.model_dump()
    missing = {key: shortname for key, shortname in wanted.items() if shortname not in seen}
    if not missing:
        checklist.ok(
            "custom profile fields",
            ", ".join(f"{k} = {v}" for k, v in wanted.items()) + f" present among {probed} users",
        )
        return
    for key, shortname in missing.items():
        checklist.fail(
            f"custom profile field {key}",
            f"no user among the {probed} read has a field with shortname «{shortname}»",
            "check the shortname in Site administration → Users → Accounts → User "
            f"profile fields, and moodle.profile_fields.{key} in the config",
            exit_code=78,
        )


def lines(checklist: Checklist) -> Iterator[tuple[str, str]]:
    """(status, text) per item: the text is one line, with what to do after «→» for a red or yellow one."""
    marks = {"ok": "✔", "fail": "✘", "warn": "!"}
    for i in checklist.items:
        text = f"{marks[i.status]} {i.item}: {i.detail}"
        if i.fix:
            text += f" → {i.fix}"
        yield i.status, text
