"""`check`: a checklist an administrator can act on, one line per item, before the first sync.

It makes the calls the sync makes (first page of users only), asserts the silent failures that
shared/MOODLE-SETUP.md §5 lists (an empty or teachers-only user list, no e-mails, warning code 1,
an activity missing from contents, no course dates), and never writes the database.

Exit code: 0 when every item passes; otherwise that of the most severe failing item, in this
order: 69 unreachable > 77 token/function/capability > 78 configuration > 65 bad data.
"""

from __future__ import annotations

from connectors.moodle import errors as e
from connectors.moodle import functions as fn
from connectors.moodle import roster
from connectors.moodle import schemas as s
from connectors.moodle.check_activities import check_attendance, check_defense
from connectors.moodle.checklist import Checklist, probe
from connectors.moodle.client import MoodleClient
from connectors.moodle.connector import MoodleConnector
from connectors.moodle.service import missing_functions, required_functions
from intensive_tracker.config import CohortSettings, Settings
from intensive_tracker.errors import TrackerError


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


def _cohort(
    checklist: Checklist, connector: MoodleConnector, cohort: CohortSettings, present: set[str]
) -> list[s.EnrolledUser]:
    """The cohort's course, group, attendance, defense and first page of users; returns that page's students."""
    label = f"cohort {cohort.key}"
    course = probe(
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
        group_id = probe(
            checklist,
            f"{label}: group {cohort.group!r}",
            present,
            "core_group_get_course_groups",
            lambda: connector.find_group(course, cohort.group or ""),
        )
        if group_id is None:
            return []
        checklist.ok(f"{label}: group", f"{cohort.group!r} (id {group_id})")
    sections = probe(
        checklist,
        f"{label}: course contents",
        present,
        "core_course_get_contents",
        lambda: fn.course_contents(connector.client, course.id),
    )
    if sections is not None:
        modules = [m for section in sections for m in section.modules]
        check_attendance(checklist, connector, cohort, modules, present, label)
        check_defense(checklist, connector, cohort, course, modules, present, label)
    return _users(checklist, connector, cohort, course.id, group_id, present, label)


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
    page = probe(
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
    suspended = probe(
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
