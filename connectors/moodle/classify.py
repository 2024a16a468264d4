"""Moodle's exception bodies → typed errors; the codes and messages are those of the recordings.

Moodle says *that* a capability is missing, rarely *which*: the capability is named from the
function called and the error code, following the measurements in shared/MOODLE-SETUP.md §2.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.moodle import errors as e
from intensive_tracker.i18n import N_, _

SITE_INFO = "core_webservice_get_site_info"

# The display names Moodle puts in parentheses after "permissions to do that (…)".
_CAPABILITY_NAMES = {
    "review permissions for others": "moodle/role:review",
    "review course enrolments": "moodle/course:enrolreview",
    "manage groups": "moodle/course:managegroups",
    "view participants": "moodle/course:viewparticipants",
    "take attendance": "mod/attendance:takeattendances",
    "view grades": "mod/assign:viewgrades",
    "view user profiles": "moodle/user:viewdetails",
}
# What the role lacks when the course (or the activity) cannot be reached (MOODLE-SETUP.md §2).
_REACH = {
    "mod_attendance_get_sessions": "moodle/course:view and mod/attendance:view",
}
NO_COURSE = N_("{said}: такого курса нет; проверьте курс когорты в конфигурации")
_PARENS = re.compile(r"\(([^()]*)\)\.?\s*$")


def classify(
    body: Mapping[str, Any],
    *,
    wsfunction: str,
    base_url: str = "Moodle",
    token_hint: str = "INTENSIVE_TRACKER_MOODLE_TOKEN",
) -> e.MoodleError:
    """The typed error for a Moodle exception body `{"exception", "errorcode", "message"}`."""
    code = str(body.get("errorcode", ""))
    message = " ".join(str(body.get("message", "")).split())[:300]
    said = _("{function}: Moodle говорит «{message}» ({code})", function=wsfunction, message=message, code=code)
    if code == "invalidtoken":
        return e.InvalidToken(
            _(
                "{url} отклонил токен: он неизвестен или удалён (Moodle удаляет просроченный токен при первом "
                "использовании). Создайте новый токен для пользователя службы (Администрирование → Сервер → "
                "Веб-службы → Управление ключами) и положите его в переменную окружения {variable}",
                url=base_url,
                variable=token_hint,
            ),
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "accessexception":
        if wsfunction == SITE_INFO:
            return e.AccessDenied(
                _(
                    "{url} не принял токен (accessexception): срок его действия истёк, IP-адрес вызывающего не "
                    "разрешён, пользователя нет среди разрешённых пользователей службы или у роли нет "
                    "webservice/rest:use на уровне системы. Moodle не говорит, что именно: проверьте у токена "
                    "«Действителен до» и «Ограничение по IP», а у службы — «Разрешённые пользователи»",
                    url=base_url,
                ),
                wsfunction=wsfunction,
                errorcode=code,
            )
        return e.FunctionNotInService(
            _(
                "{function} нет в службе токена; добавьте её: {path}",
                function=wsfunction,
                path=_(e.SERVICE_FUNCTIONS_PATH),
            ),
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "sitemaintenance":
        return e.Maintenance(
            e.maintenance_message(base_url),
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "invalidrecord" and "external_functions" in message:
        plugin = (
            "mod_attendance (Attendance)" if wsfunction.startswith("mod_attendance_") else _("модуль, который её даёт")
        )
        return e.FunctionUnknown(
            _(
                "{function} нет на {url}: установите {plugin}, затем добавьте функцию в службу ({path})",
                function=wsfunction,
                url=base_url,
                plugin=plugin,
                path=_(e.SERVICE_FUNCTIONS_PATH),
            ),
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "nopermissions":
        capability = _capability_from_message(message)
        return e.MissingCapability(
            _(
                "{said}. Дайте роли пользователя службы право {capability} ({path})",
                said=said,
                capability=capability,
                path=_(e.ROLE_PATH),
            ),
            capability=capability,
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code in ("requireloginerror", "errorcoursecontextnotvalid"):
        if "Invalid parameter" in message:
            return e.UnknownCourse(
                _(NO_COURSE, said=said),
                wsfunction=wsfunction,
                errorcode=code,
            )
        capability = _REACH.get(wsfunction, "moodle/course:view")
        return e.MissingCapability(
            _(
                "{said}. Пользователю службы недоступен курс: дайте его роли {capability}, назначенной на уровне "
                "системы ({path})",
                said=said,
                capability=capability,
                path=_(e.ROLE_PATH),
            ),
            capability=capability,
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "invalidparameter" and wsfunction == "mod_attendance_get_sessions":
        # mod_attendance answers a missing takeattendances with invalidparameter (recordings README).
        return e.MissingCapability(
            _(
                "{said}. У роли нет права mod/attendance:takeattendances, которого требует "
                "mod_attendance_get_sessions ({path}); или неверен id посещаемости",
                said=said,
                path=_(e.ROLE_PATH),
            ),
            capability="mod/attendance:takeattendances",
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "invalidrecord" and " course" in message:
        return e.UnknownCourse(
            _(NO_COURSE, said=said),
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code in ("invalidrecord", "invalidrecordunknown"):
        return e.UnknownActivity(
            _(
                "{said}: элемента курса из конфигурации нет (или уже нет); проверьте когорту в конфигурации "
                "и запустите `intensive-tracker check`",
                said=said,
            ),
            wsfunction=wsfunction,
            errorcode=code,
        )
    if code == "invaliduser":
        return e.MoodleNotFound(_("{said}: такого пользователя нет", said=said), wsfunction=wsfunction, errorcode=code)
    if code in ("invalidparameter", "invaliduserfield"):
        return e.InvalidParameter(
            _(
                "{said}: Moodle отверг параметры запроса; возможно, эта версия Moodle отличается от 4.5 — "
                "сообщите об этом вместе с сообщением выше",
                said=said,
            ),
            wsfunction=wsfunction,
            errorcode=code,
        )
    return e.MoodleError(f"{said}", wsfunction=wsfunction, errorcode=code)


def _capability_from_message(message: str) -> str:
    match = _PARENS.search(message)
    if not match:
        return _("(Moodle его не называет; см. MOODLE-SETUP в README)")
    shown = match.group(1).strip()
    return _CAPABILITY_NAMES.get(shown.lower(), shown)
