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
from intensive_tracker.i18n import _, ngettext


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
        checklist.error(_("Moodle доступен по адресу {url}", url=client.base_url), error)
        return None
    except TrackerError as error:
        checklist.ok(_("Moodle доступен по адресу {url}", url=client.base_url), _("сайт отвечает"))
        label = _("веб-службы включены") if isinstance(error, e.WebServicesDisabled) else _("токен принят")
        checklist.error(label, error)
        return None
    checklist.ok(_("Moodle доступен по адресу {url}", url=client.base_url), _("сайт отвечает на вызовы веб-служб"))
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
        _("токен принят"),
        _(
            "сайт «{site}», Moodle {release}, пользователь службы {user}",
            site=site.sitename,
            release=site.release or site.version or "?",
            user=site.username,
        ),
    )
    if site.userissiteadmin:
        checklist.warn(
            _("наименьшие права"),
            _("пользователь службы {user} — администратор сайта", user=site.username),
            _("выдайте токен отдельному пользователю только с правами на чтение, перечисленными в README"),
        )
    return site


def _functions(checklist: Checklist, settings: Settings, site: s.SiteInfo) -> None:
    missing = missing_functions(settings, site)
    needed = required_functions(settings)
    if not missing:
        checklist.ok(
            _("функции веб-служб"),
            ngettext(
                "{n} функция, нужная конфигурации, есть в службе токена",
                "все {n} функций, нужных конфигурации, есть в службе токена",
                len(needed),
            ),
        )
    for name in missing:
        checklist.fail(
            _("функция {name}", name=name),
            _("нет в службе токена"),
            _("добавьте её: {path}", path=_(e.SERVICE_FUNCTIONS_PATH)),
            exit_code=77,
        )


def _cohort(
    checklist: Checklist, connector: MoodleConnector, cohort: CohortSettings, present: set[str]
) -> list[s.EnrolledUser]:
    """The cohort's course, group, attendance, defense and first page of users; returns that page's students."""
    label = _("когорта {key}", key=cohort.key)
    course = probe(
        checklist,
        _("{label}: курс {course}", label=label, course=repr(cohort.course)),
        present,
        "core_course_get_courses_by_field",
        lambda: connector.find_course(cohort.course),
    )
    if course is None:
        return []
    if course.startdate is None:
        checklist.fail(
            _("{label}: курс «{name}»", label=label, name=course.fullname),
            _("найден, но без дат"),
            e.give_role("moodle/course:view"),
            exit_code=77,
        )
    else:
        checklist.ok(
            _("{label}: курс", label=label),
            _(
                "«{name}» (id {id}, краткое название {shortname})",
                name=course.fullname,
                id=course.id,
                shortname=course.shortname,
            ),
        )
    group_id = None
    if cohort.group:
        group_id = probe(
            checklist,
            _("{label}: группа {group}", label=label, group=repr(cohort.group)),
            present,
            "core_group_get_course_groups",
            lambda: connector.find_group(course, cohort.group or ""),
        )
        if group_id is None:
            return []
        checklist.ok(_("{label}: группа", label=label), f"{cohort.group!r} (id {group_id})")
    sections = probe(
        checklist,
        _("{label}: содержимое курса", label=label),
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
    item = _("{label}: записанные на курс", label=label)
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
        checklist.ok(
            item,
            _(
                "на первой странице {n} или больше, с ролью «{role}» — {students}, адреса e-mail видны",
                n=len(page),
                role=role,
                students=len(students),
            )
            if len(page) == size
            else _(
                "на первой странице {n}, с ролью «{role}» — {students}, адреса e-mail видны",
                n=len(page),
                role=role,
                students=len(students),
            ),
        )
    suspended = probe(
        checklist,
        _("{label}: приостановленные записи", label=label),
        present,
        "core_enrol_get_enrolled_users",
        lambda: fn.suspended_enrolments(connector.client, course_id, group_id),
    )
    if suspended is not None:
        checklist.ok(_("{label}: приостановленные записи", label=label), _("читаются (сейчас {n})", n=len(suspended)))
    return students


def _profile_fields(checklist: Checklist, settings: Settings, seen: set[str], probed: int) -> None:
    if settings.moodle is None or not probed:
        return
    wanted = settings.moodle.profile_fields.model_dump()
    missing = {key: shortname for key, shortname in wanted.items() if shortname not in seen}
    if not missing:
        checklist.ok(
            _("дополнительные поля профиля"),
            ngettext(
                "{fields}: есть среди {n} пользователя",
                "{fields}: есть среди {n} пользователей",
                probed,
                # The config's key (an identifier) and Moodle's short name (data, quoted).
                fields=", ".join(f"profile_fields.{k} = «{v}»" for k, v in wanted.items()),
            ),
        )
        return
    for key, shortname in missing.items():
        checklist.fail(
            _("дополнительное поле профиля {key}", key=key),
            _(
                "ни у кого из прочитанных пользователей ({n}) нет поля с кратким именем «{shortname}»",
                n=probed,
                shortname=shortname,
            ),
            _(
                "проверьте краткое имя в «Администрирование → Пользователи → Учётные записи → Поля профиля "
                "пользователя» и moodle.profile_fields.{key} в конфигурации",
                key=key,
            ),
            exit_code=78,
        )
