"""Which cohorts a night refetches fully and which cost only an incremental look (issue 17).

A cohort is finished when its last session is more than `finished_after_days` past and its defense
grades have not changed for `defense_quiet_days`. A finished cohort costs one request a night,
`mod_assign_get_grades` `since` its grades cursor (none without a defense): a grade changed since
makes it fetched fully at once; otherwise it is skipped. Everything is fetched fully on the weekly
`full_refetch_weekday` (the Moscow date of the clock) and by `sync --full`, which is how a late
change of a mark or a roster in a finished cohort is caught.
What the plan needs is kept as cursors written with the cohort's data: `last_session:<cohort>` and
the existing `grades:<cohort>:<assignment>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from intensive_tracker.config import CohortSettings, MoodleSettings
from intensive_tracker.i18n import N_, _
from intensive_tracker.periods import from_unix, local_date, ru_date

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = dict(
    zip(
        WEEKDAYS,
        (N_("понедельник"), N_("вторник"), N_("среда"), N_("четверг"), N_("пятница"), N_("суббота"), N_("воскресенье")),
        strict=True,
    )
)


@dataclass(frozen=True)
class Plan:
    """How one cohort is refreshed tonight: "full" or "incremental", and why (in the sync's language: status shows it)."""

    mode: str
    reason: str
    grades_key: str | None = None  # the grades cursor an incremental look asks `since`


def last_session_key(cohort: CohortSettings) -> str:
    return f"last_session:{cohort.key}"


def plan_cohort(
    cohort: CohortSettings, cursors: Mapping[str, str], *, now: datetime, moodle: MoodleSettings, full: bool
) -> Plan:
    """Tonight's plan for `cohort` from its cursors and the clock."""
    if full:
        return Plan("full", _("запрошена полная загрузка («sync --full»)"))
    if moodle.finished_after_days == 0:
        return Plan("full", _("завершённые когорты не выделяются («moodle.finished_after_days = 0»)"))
    if WEEKDAYS[local_date(now).weekday()] == moodle.full_refetch_weekday:
        day = _(WEEKDAY_NAMES[moodle.full_refetch_weekday])
        return Plan("full", _("еженедельная полная загрузка ({day})", day=day))
    last = cursors.get(last_session_key(cohort))
    if last is None:
        return Plan("full", _("ещё не загружалась полностью"))
    last_at = from_unix(int(last))
    if now - last_at <= timedelta(days=moodle.finished_after_days):
        return Plan("full", _("идёт: последнее занятие {date}", date=ru_date(local_date(last_at))))
    grades = sorted(k for k in cursors if k.startswith(f"grades:{cohort.key}:"))
    if cohort.defense is not None and not grades:
        return Plan("full", _("защита ещё не оценена"))
    for key in grades:
        changed = from_unix(int(cursors[key]))
        if now - changed <= timedelta(days=moodle.defense_quiet_days):
            return Plan("full", _("защита менялась {date}", date=ru_date(local_date(changed))))
    return Plan(
        "incremental",
        _("завершена: последнее занятие {date}", date=ru_date(local_date(last_at))),
        grades_key=grades[-1] if grades else None,
    )
