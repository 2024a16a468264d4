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

ACCESS_ALL_GROUPS = "moodle/site:accessallgroups"
VIEW_DETAILS = "moodle/user:viewdetails"
VIEW_IDENTITY = "moodle/site:viewuseridentity"
PROFILES = "core_user_get_course_user_profiles"  # a user's roles in a course: confirms a stranger is a student
SHOWN = 20  # ids shown in one warning; the rest are counted


def capped(ids: list[int], shown: int = SHOWN) -> str:
    """The first `shown` ids, then «и ещё N» for the rest."""
    text = ", ".join(map(str, ids[:shown]))
    return text + (f" и ещё {len(ids) - shown}" if len(ids) > shown else "")


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
            "Moodle lists nobody",
            ACCESS_ALL_GROUPS,
            f"if the course has participants, give the role {ACCESS_ALL_GROUPS} (the course is in separate-groups "
            f"mode) ({e.ROLE_PATH})",
        )
    if not students:
        roles = sorted({r.shortname for u in users for r in u.roles})
        return Diagnosis(
            f"{len(users)} listed, none with the role «{role}» (roles seen: {', '.join(roles)})",
            VIEW_DETAILS,
            f"give the role {VIEW_DETAILS} ({e.ROLE_PATH}), or set moodle.student_role",
        )
    if not any(u.email for u in users):
        return Diagnosis(
            "listed without e-mail addresses (duplicate accounts cannot be merged)",
            VIEW_IDENTITY,
            f"give the role {VIEW_IDENTITY} ({e.ROLE_PATH})",
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
    prefix = f"cohort {cohort_key}: the roster Moodle listed is implausible, nothing was written"
    if found is not None and not students and (referenced or before):
        why = f"{len(referenced)} people have marks or grades" if referenced else f"the last good sync saw {before}"
        return _error(f"{prefix}: {found.detail}, yet {why}", found)
    if before and len(students) < before * (1 - drop_limit):
        return e.MissingCapability(
            f"{prefix}: {len(students)} students listed where the last good sync saw {before} (a drop of more than "
            f"{drop_limit:.0%}). A revoked capability hides people: run intensive-tracker check; "
            f"{ACCESS_ALL_GROUPS} or {VIEW_DETAILS} ({e.ROLE_PATH}). If the course really lost them, raise "
            "moodle.roster_drop_limit for one sync",
            capability=ACCESS_ALL_GROUPS,
            wsfunction="core_enrol_get_enrolled_users",
            errorcode="implausibleroster",
        )
    if found is not None and found.capability == VIEW_IDENTITY and emails_before:
        return _error(f"{prefix}: {found.detail}, yet the last good sync saw {emails_before} e-mails", found)
    return None


def _error(message: str, found: Diagnosis) -> e.MissingCapability:
    return e.MissingCapability(
        f"{message} → {found.fix}",
        capability=found.capability,
        wsfunction="core_enrol_get_enrolled_users",
        errorcode="implausibleroster",
    )
