"""Is the roster Moodle listed believable? Moodle hides people instead of failing (MOODLE-SETUP.md §5).

Without `moodle/site:accessallgroups` a course in forced separate-groups mode lists nobody; without
`moodle/user:viewdetails` it lists the teachers only; without `moodle/site:viewuseridentity` nobody
has an e-mail. `check` and the sync judge a list by the same rules, so both name the same capability.
The sync also remembers the last good roster (its size and how many had an e-mail) as cursors,
committed with the cohort's batch, and refuses a list that shrank by more than `roster_drop_limit`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from connectors.moodle import errors as e
from connectors.moodle import schemas as s
from intensive_tracker.i18n import _, ngettext, percent

ACCESS_ALL_GROUPS = "moodle/site:accessallgroups"
VIEW_DETAILS = "moodle/user:viewdetails"
VIEW_IDENTITY = "moodle/site:viewuseridentity"
PROFILES = "core_user_get_course_user_profiles"  # a user's roles in a course: confirms a stranger is a student
SHOWN = 20  # ids shown in one warning; the rest are counted


def capped(ids: list[int], shown: int = SHOWN) -> str:
    """The first `shown` ids, then «и ещё N» for the rest."""
    text = ", ".join(map(str, ids[:shown]))
    return _("{ids} и ещё {n}", ids=text, n=len(ids) - shown) if len(ids) > shown else text


@dataclass(frozen=True)
class Diagnosis:
    """What is wrong with a user list, the capability that explains it, and what to do."""

    detail: str
    capability: str
    fix: str


def diagnose(users: list[s.EnrolledUser], role: str) -> Diagnosis | None:
    """The silent failure a non-empty course's list shows: nobody, teachers only, no e-mails; None if none."""
    students = [u for u in users if any(r.shortname == role for r in u.roles)]
    if not users:
        return Diagnosis(
            _("Moodle не показывает никого"),
            ACCESS_ALL_GROUPS,
            _(
                "если в курсе есть участники, дайте роли право {capability} (курс в режиме отдельных групп) ({path})",
                capability=ACCESS_ALL_GROUPS,
                path=_(e.ROLE_PATH),
            ),
        )
    if not students:
        roles = sorted({r.shortname for u in users for r in u.roles})
        return Diagnosis(
            _(
                "показано {n}, ни у кого нет роли «{role}» (встреченные роли: {roles})",
                n=len(users),
                role=role,
                roles=", ".join(roles),
            ),
            VIEW_DETAILS,
            _("{give}, или задайте moodle.student_role", give=e.give_role(VIEW_DETAILS)),
        )
    if not any(u.email for u in users):
        return Diagnosis(
            _("показаны без адресов e-mail (двойные учётные записи не объединить)"),
            VIEW_IDENTITY,
            e.give_role(VIEW_IDENTITY),
        )
    return None


def cursor_keys(cohort_key: str) -> tuple[str, str]:
    """The cursors holding the last good roster: its students, and how many of them had an e-mail."""
    return f"roster:{cohort_key}:students", f"roster:{cohort_key}:emails"


def roster_cursors(cohort_key: str, students: Collection[s.EnrolledUser]) -> dict[str, str]:
    """The cursors a good batch commits: this roster's size and e-mail count."""
    size, emails = cursor_keys(cohort_key)
    return {size: str(len(students)), emails: str(sum(1 for u in students if u.email))}


def judge(
    cohort_key: str,
    users: list[s.EnrolledUser],
    role: str,
    *,
    referenced: Collection[int],
    cursors: Mapping[str, str],
    drop_limit: float,
) -> e.MissingCapability | None:
    """The error that fails the cohort when its roster is implausible, or None when it can be written.

    Implausible: no students while marks or grades name people, or while the last good sync saw some;
    fewer students than `1 - drop_limit` of the last good sync's; every e-mail gone at once.
    """
    size_key, email_key = cursor_keys(cohort_key)
    before = int(cursors.get(size_key, "0") or 0)
    emails_before = int(cursors.get(email_key, "0") or 0)
    students = [u for u in users if any(r.shortname == role for r in u.roles)]
    found = diagnose(users, role)
    prefix = _("когорта {key}: список, который дал Moodle, неправдоподобен, ничего не записано", key=cohort_key)
    if found is not None and not students and (referenced or before):
        why = (
            ngettext("у {n} человека есть отметки или оценки", "у {n} человек есть отметки или оценки", len(referenced))
            if referenced
            else _("последняя удачная синхронизация видела {n}", n=before)
        )
        return _error(_("{prefix}: {detail}, хотя {why}", prefix=prefix, detail=found.detail, why=why), found)
    if before and len(students) < before * (1 - drop_limit):
        return e.MissingCapability(
            _(
                "{prefix}: студентов в списке: {n}, а последняя удачная синхронизация видела {before} (спад больше "
                "чем на {limit}). Отозванное право скрывает людей: запустите intensive-tracker check; {access} или "
                "{details} ({path}). Если курс правда их потерял, поднимите moodle.roster_drop_limit на одну "
                "синхронизацию",
                prefix=prefix,
                n=len(students),
                before=before,
                limit=percent(round(drop_limit, 2)),
                access=ACCESS_ALL_GROUPS,
                details=VIEW_DETAILS,
                path=_(e.ROLE_PATH),
            ),
            capability=ACCESS_ALL_GROUPS,
            wsfunction="core_enrol_get_enrolled_users",
            errorcode="implausibleroster",
        )
    if found is not None and found.capability == VIEW_IDENTITY and emails_before:
        return _error(
            _(
                "{prefix}: {detail}, хотя последняя удачная синхронизация видела адресов e-mail: {n}",
                prefix=prefix,
                detail=found.detail,
                n=emails_before,
            ),
            found,
        )
    return None


def _error(message: str, found: Diagnosis) -> e.MissingCapability:
    return e.MissingCapability(
        f"{message} → {found.fix}",
        capability=found.capability,
        wsfunction="core_enrol_get_enrolled_users",
        errorcode="implausibleroster",
    )
