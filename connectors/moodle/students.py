"""Who counts as a cohort's student: the role check, the person record, and the marks set aside.

`StudentFilters` is a part of `MoodleConnector`: it needs the client, the [moodle] settings and the
site info, which the connector provides. Marks and grades of enrolled non-students (teachers) are left
out; those of people Moodle does not list as enrolled are kept only when Moodle confirms the role.
"""

from __future__ import annotations

from collections.abc import Callable

from connectors.base import AttendanceRecord, DefenseRecord, PersonRecord, SourceWarning
from connectors.moodle import errors as e
from connectors.moodle import functions as fn
from connectors.moodle import roster
from connectors.moodle import schemas as s
from connectors.moodle.client import MoodleClient
from intensive_tracker.config import CohortSettings, MoodleSettings
from intensive_tracker.i18n import _, ngettext


class StudentFilters:
    """The student role decides who is a participant; everyone else's marks and grades are set aside, reported."""

    name: str
    client: MoodleClient
    moodle: MoodleSettings
    site_info: Callable[[], s.SiteInfo]

    def _drop_non_students(
        self,
        marks: list[AttendanceRecord],
        defenses: list[DefenseRecord],
        others: set[int],
        cohort: CohortSettings,
        warnings: list[SourceWarning],
    ) -> tuple[list[AttendanceRecord], list[DefenseRecord]]:
        dropped = {int(a.external_id) for a in marks if int(a.external_id) in others}
        dropped |= {int(d.external_id) for d in defenses if int(d.external_id) in others}
        if dropped:
            warnings.append(
                SourceWarning(
                    source=self.name,
                    item="course",
                    itemid=str(cohort.course),
                    code="notstudent",
                    message=ngettext(
                        "отметки и оценки {n} записанного на курс пользователя без роли «{role}» не учтены "
                        "(id в Moodle: {ids})",
                        "отметки и оценки {n} записанных на курс пользователей без роли «{role}» не учтены "
                        "(id в Moodle: {ids})",
                        len(dropped),
                        role=self.moodle.student_role,
                        ids=roster.capped(sorted(dropped)),
                    ),
                )
            )
        return (
            [a for a in marks if int(a.external_id) not in others],
            [d for d in defenses if int(d.external_id) not in others],
        )

    def _strangers(
        self,
        course_id: int,
        people: dict[int, PersonRecord],
        marks: list[AttendanceRecord],
        defenses: list[DefenseRecord],
        cohort: CohortSettings,
        warnings: list[SourceWarning],
    ) -> tuple[list[AttendanceRecord], list[DefenseRecord]]:
        """People marked or graded whom Moodle does not list as enrolled: kept only if Moodle confirms the student role.

        One core_user_get_course_user_profiles call (200 users a call) gives their roles in the course;
        the others' marks and grades are kept aside and reported, never stored as a participant's.
        """
        referenced = {int(a.external_id) for a in marks} | {int(d.external_id) for d in defenses}
        strangers = self.stranger_ids(people, marks, defenses)
        if not strangers:
            return marks, defenses
        if self.profiles_available():
            for user in fn.course_user_profiles(self.client, course_id, strangers):
                if self._is_student(user) and user.id in referenced:
                    people[user.id] = self._person(user)
            why = _("Moodle не подтверждает у них роль «{role}» в курсе", role=self.moodle.student_role)
        else:
            why = _(
                "роль не проверить: добавьте {function} в службу ({path})",
                function=roster.PROFILES,
                path=_(e.SERVICE_FUNCTIONS_PATH),
            )
        aside = [uid for uid in strangers if uid not in people]
        if aside:
            warnings.append(
                SourceWarning(
                    source=self.name,
                    item="course",
                    itemid=str(cohort.course),
                    code="notlisted",
                    message=ngettext(
                        "отметки и оценки {n} пользователя, которого нет среди записанных на курс, отложены: {why} "
                        "(id в Moodle: {ids})",
                        "отметки и оценки {n} пользователей, которых нет среди записанных на курс, отложены: {why} "
                        "(id в Moodle: {ids})",
                        len(aside),
                        why=why,
                        ids=roster.capped(aside),
                    ),
                )
            )
        kept = {str(uid) for uid in aside}
        return [a for a in marks if a.external_id not in kept], [d for d in defenses if d.external_id not in kept]

    @staticmethod
    def stranger_ids(
        people: dict[int, PersonRecord], marks: list[AttendanceRecord], defenses: list[DefenseRecord]
    ) -> list[int]:
        """Users marked or graded whom the enrolled list does not show, in id order."""
        referenced = {int(a.external_id) for a in marks} | {int(d.external_id) for d in defenses}
        return sorted(referenced - set(people))

    def profiles_available(self) -> bool:
        """Whether the service lets us ask Moodle for the roles of people it does not list as enrolled."""
        return roster.PROFILES in {f.name for f in self.site_info().functions}

    def _is_student(self, user: s.EnrolledUser) -> bool:
        return any(r.shortname == self.moodle.student_role for r in user.roles)

    def _person(self, user: s.EnrolledUser | s.UserByField) -> PersonRecord:
        fields = {f.shortname: (f.value or "") for f in user.customfields}
        names = self.moodle.profile_fields

        def value(shortname: str) -> str | None:
            text = fields.get(shortname)
            # Stored verbatim (spaces included): the district registry resolves messy spellings later.
            return text if text and text.strip() else None

        return PersonRecord(
            external_id=str(user.id),
            full_name=" ".join(user.fullname.split()) or f"Moodle #{user.id}",
            email=(user.email or None),
            district_raw=value(names.district),
            school=value(names.school),
            position=value(names.position),
            category=value(names.category),
            suspended=bool(user.suspended),
        )
