"""The web-service functions the configured cohorts need, and which of them the token's service lacks."""

from __future__ import annotations

from connectors.moodle import schemas as s
from intensive_tracker.config import Settings


def required_functions(settings: Settings) -> list[str]:
    """The web-service functions the configured cohorts need, in the order the sync calls them."""
    cohorts = settings.cohorts
    needed = ["core_webservice_get_site_info", "core_course_get_courses_by_field", "core_course_get_contents"]
    if any(c.group for c in cohorts):
        needed.append("core_group_get_course_groups")
    needed += ["core_enrol_get_enrolled_users", "core_user_get_users_by_field"]
    if any(c.attendance is None or c.attendance for c in cohorts):
        needed.append("mod_attendance_get_sessions")
    if any(c.defense is not None for c in cohorts):
        needed += ["mod_assign_get_assignments", "mod_assign_get_grades", "mod_assign_get_submissions"]
    return needed


def missing_functions(settings: Settings, site: s.SiteInfo) -> list[str]:
    """Needed functions absent from the token's service (site info lists the service's functions)."""
    present = {f.name for f in site.functions}
    return [name for name in required_functions(settings) if name not in present]
