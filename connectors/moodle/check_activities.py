"""The items of `check` about a cohort's activities: its attendance modules and its defense assignment."""

from __future__ import annotations

import functools
from typing import Any

from connectors.moodle import errors as e
from connectors.moodle import functions as fn
from connectors.moodle import roster
from connectors.moodle import schemas as s
from connectors.moodle.checklist import Checklist, probe
from connectors.moodle.connector import MoodleConnector
from connectors.moodle.defense import pass_rule
from intensive_tracker.config import CohortSettings
from intensive_tracker.errors import TrackerError

ASSIGN_NO_ACCESS = "1"  # mod_assign warning code: "No access rights in module context"
SEPARATE_GROUPS = 1  # course.groupmode: 0 none, 1 separate, 2 visible


def check_attendance(
    checklist: Checklist,
    connector: MoodleConnector,
    cohort: CohortSettings,
    modules: list[s.Module],
    present: set[str],
    label: str,
) -> None:
    if cohort.attendance == []:
        return
    chosen = probe(
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
        sessions = probe(
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


def check_defense(
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
    assignment = probe(
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
    grades = probe(
        checklist, item, present, "mod_assign_get_grades", lambda: fn.grades(connector.client, assignment.id)
    )
    subs = probe(
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
