"""Finding a cohort's course, group, enrolled users and activities in Moodle, with errors that say what exists.

`CourseLookups` is a part of `MoodleConnector`: it needs only the client, the [moodle] settings and a
course cache, which the connector provides.
"""

from __future__ import annotations

from connectors.base import SourceWarning
from connectors.moodle import errors as e
from connectors.moodle import functions as fn
from connectors.moodle import schemas as s
from connectors.moodle.client import MoodleClient
from intensive_tracker.config import CohortSettings, MoodleSettings
from intensive_tracker.i18n import N_, _

NONE_VISIBLE = N_("пользователю службы не видно ни одного")


class CourseLookups:
    """Lookups by id, shortname, name or cmid; a cohort's course is looked up once per connector."""

    name: str
    client: MoodleClient
    moodle: MoodleSettings
    _courses: dict[str, s.Course]

    def find_course(self, ref: int | str, warnings: list[SourceWarning] | None = None) -> s.Course:
        """core_course_get_courses_by_field by id, else shortname, else idnumber; its warnings[] go to `warnings`."""
        cache_key = str(ref)
        if cache_key in self._courses:
            return self._courses[cache_key]
        text = str(ref).strip()
        if isinstance(ref, int):
            lookups = [("id", text)]
        else:  # a digits-only shortname is possible: the id is tried first
            lookups = ([("id", text)] if text.isdigit() else []) + [("shortname", text), ("idnumber", text)]
        for field, value in lookups:
            answer = fn.courses_by_field(self.client, field, value)
            if warnings is not None:
                warnings += self._warnings("core_course_get_courses_by_field", answer.warnings)
            if answer.courses:
                self._courses[cache_key] = answer.courses[0]
                return answer.courses[0]
        raise e.UnknownCourse(
            _(
                "курс {ref} не найден по {fields}: проверьте курс когорты в конфигурации (или у пользователя "
                "службы нет права moodle/course:view)",
                ref=repr(ref),
                fields=", ".join(f for f, _value in lookups),
            ),
            wsfunction="core_course_get_courses_by_field",
        )

    def find_group(self, course: s.Course, group: str) -> int:
        groups = fn.course_groups(self.client, course.id)
        for g in groups:
            if group in (g.name, g.idnumber, str(g.id)):
                return g.id
        names = ", ".join(f"«{g.name}»" for g in groups) or _("групп нет")
        raise e.UnknownGroup(
            _(
                "курс {course}: группа {group} не найдена (в курсе есть: {names})",
                course=course.shortname,
                group=repr(group),
                names=names,
            ),
            wsfunction="core_group_get_course_groups",
        )

    def enrolled_pages(self, course_id: int, group_id: int | None) -> list[bytes]:
        """The pages of enrolled users, as bytes (decoded by `enrolled_of`: issue 17, not for an unchanged cohort).

        A page shorter than page_size is the last: no extra call for an empty page (MOODLE-COSTS.md).
        """
        size = self.moodle.page_size
        pages: list[bytes] = []
        while True:
            page = fn.enrolled_users_page_raw(
                self.client, course_id, start=len(pages) * size, size=size, group_id=group_id
            )
            pages.append(page)
            if fn.entries_in(self.client, fn.ENROLLED_USERS, page) < size:
                return pages

    def enrolled_of(self, pages: list[bytes]) -> list[s.EnrolledUser]:
        """Every enrolled user of the pages, each once even if a page repeats someone (enrolments changing meanwhile)."""
        seen: dict[int, s.EnrolledUser] = {}
        for page in pages:
            for user in fn.enrolled_users_of(self.client, page):
                seen.setdefault(user.id, user)
        return list(seen.values())

    def _suspended_ids(self, course_id: int, group_id: int | None, warnings: list[SourceWarning]) -> set[int]:
        try:
            return {u.id for u in fn.suspended_enrolments(self.client, course_id, group_id)}
        except e.MissingCapability as error:
            # Needs moodle/course:enrolreview; without it the sync goes on, says so, and marks nobody suspended.
            warnings.append(
                SourceWarning(
                    source=self.name,
                    item="course",
                    itemid=str(course_id),
                    code=error.errorcode or "",
                    message=_("приостановленные записи неизвестны: {error}", error=error),
                )
            )
            return set()

    def attendance_modules(self, modules: list[s.Module], cohort: CohortSettings) -> list[s.Module]:
        """The cohort's attendance activities: the configured ones (by name or cmid), else all in the course."""
        found = [m for m in modules if m.modname == "attendance" and m.instance is not None]
        if cohort.attendance is None:
            return found
        chosen = []
        for wanted in cohort.attendance:
            match = [m for m in found if str(wanted) in (m.name, str(m.id))]
            if not match:
                names = ", ".join(f"«{m.name}» (cmid {m.id})" for m in found) or _(NONE_VISIBLE)
                raise e.UnknownActivity(
                    _(
                        "когорта {key}: элемент посещаемости {wanted} не найден (в курсе есть: {names}; для "
                        "скрытого нужно право mod/attendance:view)",
                        key=cohort.key,
                        wanted=repr(wanted),
                        names=names,
                    ),
                    wsfunction="core_course_get_contents",
                )
            chosen += [m for m in match if m not in chosen]
        return chosen

    def defense_assignment(
        self, course: s.Course, cohort: CohortSettings, warnings: list[SourceWarning] | None = None
    ) -> s.Assignment | None:
        """The cohort's defense assignment by id, cmid or name; None when the cohort has no defense."""
        if cohort.defense is None:
            return None
        answer = fn.assignments(self.client, course.id)
        if warnings is not None:
            warnings += self._warnings("mod_assign_get_assignments", answer.warnings)
        found = [a for c in answer.courses for a in c.assignments]
        wanted = str(cohort.defense).strip()
        for a in found:
            if wanted in (str(a.id), str(a.cmid), a.name.strip()):
                return a
        names = ", ".join(f"«{a.name}» (cmid {a.cmid})" for a in found) or _(NONE_VISIBLE)
        raise e.UnknownActivity(
            _(
                "когорта {key}: задание защиты {defense} не найдено (в курсе есть: {names})",
                key=cohort.key,
                defense=repr(cohort.defense),
                names=names,
            ),
            wsfunction="mod_assign_get_assignments",
        )

    def _warnings(self, wsfunction: str, items: list[s.Warning]) -> list[SourceWarning]:
        return [
            SourceWarning(
                source=self.name,
                item=w.item or "",
                itemid=str(w.itemid or ""),
                code=str(w.warningcode or ""),
                message=f"{wsfunction}: {w.message}",
            )
            for w in items
        ]
