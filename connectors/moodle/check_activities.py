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
from intensive_tracker.i18n import N_, _, ngettext

ASSIGN_NO_ACCESS = "1"  # mod_assign warning code: "No access rights in module context"
SEPARATE_GROUPS = 1  # course.groupmode: 0 none, 1 separate, 2 visible
WARNS = N_("Moodle предупреждает: {message} (код {code}, {item} {itemid})")


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
        _("{label}: посещаемость", label=label),
        present,
        "core_course_get_contents",
        lambda: connector.attendance_modules(modules, cohort),
    )
    if chosen is None:
        return
    if not chosen:
        checklist.fail(
            _("{label}: посещаемость", label=label),
            _("в курсе не видно ни одного элемента «Посещаемость»"),
            _(
                "добавьте его в курс или дайте роли право {capability} ({path})",
                capability="mod/attendance:view",
                path=_(e.ROLE_PATH),
            ),
            exit_code=78,
        )
        return
    matcher = connector.matcher
    for module in chosen:
        item = _("{label}: посещаемость «{name}» (cmid {cmid})", label=label, name=module.name, cmid=module.id)
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
                _("ни один из его статусов ({shown}) не считается присутствием", shown=shown),
                _("перечислите статусы присутствия в moodle.present_statuses"),
                exit_code=78,
            )
            continue
        checklist.ok(
            item,
            ngettext(
                "{n} занятие (отмечено: {taken}); присутствием считаются: {statuses}",
                "{n} занятий (отмечено: {taken}); присутствием считаются: {statuses}",
                len(sessions),
                taken=taken,
                statuses=", ".join(counted) or _("статусов пока нет"),
            ),
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
    item = _("{label}: защита {defense}", label=label, defense=repr(cohort.defense))
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
    item = _("{label}: защита «{name}» (cmid {cmid})", label=label, name=assignment.name, cmid=assignment.cmid)
    try:
        rule = pass_rule(cohort, assignment)
    except TrackerError as error:
        checklist.error(item, error)
        return
    if not any(m.id == assignment.cmid for m in modules):
        checklist.fail(
            item,
            _("нет среди содержимого курса, которое видит пользователь службы"),
            e.give_role("mod/assign:view"),
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
            _(
                "дайте роли право {capability}: в курсе принудительно включены отдельные группы ({path})",
                capability=roster.ACCESS_ALL_GROUPS,
                path=_(e.ROLE_PATH),
            )
            if forced_groups
            else _(
                "дайте роли права {capability} (курс в режиме отдельных групп), mod/assign:view и "
                "mod/assign:viewgrades ({path})",
                capability=roster.ACCESS_ALL_GROUPS,
                path=_(e.ROLE_PATH),
            )
        )
        checklist.fail(
            item,
            _("Moodle отвечает «No access rights in module context» (предупреждение с кодом 1)"),
            fix,
            exit_code=77,
        )
        return
    for w in warnings:  # already SourceWarnings, named by function
        checklist.warn(item, _(WARNS, message=w.message, code=w.code, item=w.item, itemid=w.itemid))
    for w in [*grades.warnings, *subs.warnings]:
        if str(w.warningcode) != "3":  # "No grades found" only means nobody is graded yet
            checklist.warn(item, _(WARNS, message=w.message, code=w.warningcode, item=w.item, itemid=w.itemid))
    counted = sum(len(b.grades) for b in grades.assignments)
    submitted = sum(len(b.submissions) for b in subs.assignments)
    if (assignment.grade or 0) < 0:
        graded = _("оценивается по шкале")
    else:
        graded = _("оценивается баллами из {max}", max=format(assignment.grade, "g"))
    checklist.ok(
        item,
        _(
            "{graded}; {rule}; оценок: {grades}, ответов: {submissions}",
            graded=graded,
            rule=rule.describe(),
            grades=counted,
            submissions=submitted,
        ),
    )
