"""What the data-quality report holds: frozen dataclasses, each row with the config lines that fix it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from intensive_tracker.i18n import N_, _
from intensive_tracker.reports.dataquality import DataQuality


@dataclass(frozen=True)
class PersonRef:
    participant_id: int
    full_name: str
    accounts: tuple[str, ...]  # "moodle:1203"
    district_raw: str | None = None


@dataclass(frozen=True)
class NoDistrict:
    person: PersonRef
    school: str | None
    hint: str | None  # a district named in the school's name, for a person to confirm


@dataclass(frozen=True)
class UnknownSpelling:
    spelling: str  # the commonest stored variant, trimmed
    variants: tuple[str, ...]
    people: int
    examples: tuple[PersonRef, ...]
    reason: str
    suggestion: str | None  # a probable district, for a person to confirm

    @property
    def alias_line(self) -> str:
        """The `[districts.aliases]` line that fixes it (TOML basic strings)."""
        target = self.suggestion or _("каноническое название")
        return f"{toml_string(self.spelling)} = {toml_string(target)}"


@dataclass(frozen=True)
class LinkRow:
    account: str
    full_name: str
    email: str | None
    reason: str
    person: PersonRef  # the person the account is linked to, with all their accounts

    @property
    def split_line(self) -> str:
        """The `[[people.split]]` entry that undoes the link."""
        return f"[[people.split]]\naccount = {toml_string(self.account)}"


@dataclass(frozen=True)
class NameTwins:
    """Different people with the same name in the same district: perhaps one person."""

    full_name: str
    district: str
    people: tuple[PersonRef, ...]

    @property
    def join_lines(self) -> str:
        refs = ", ".join(toml_string(a) for p in self.people for a in p.accounts)
        return f"[[people.join]]\naccounts = [{refs}]"


@dataclass(frozen=True)
class MissingAttendance:
    person: PersonRef
    cohort: str
    missing_since: datetime  # local
    attendances: int


@dataclass(frozen=True)
class UntakenSession:
    cohort: str
    starts_at: datetime  # local
    topic: str


@dataclass(frozen=True)
class StaleDefense:
    person: PersonRef
    cohort: str
    since: datetime  # local: the cohort's last session
    days: int


@dataclass(frozen=True)
class OverrideMiss:
    kind: str
    refs: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class LastSync:
    run_id: int
    finished_at: datetime | None  # local
    status: str
    warnings: tuple[dict[str, Any], ...]
    errors: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class QualityReport:
    generated_at: datetime
    timezone: str
    stale_defense_days: int
    unknown_districts: list[UnknownSpelling]
    without_district: list[NoDistrict]
    without_district_total: int
    probable_links: list[LinkRow]
    name_twins: list[NameTwins]
    email_links: list[LinkRow]
    manual_links: list[LinkRow]
    override_misses: list[OverrideMiss]
    missing_attendance: list[MissingAttendance]
    untaken_sessions: list[UntakenSession]
    stale_defenses: list[StaleDefense]
    last_sync: LastSync | None
    rejects: list[dict[str, Any]]
    rejects_total: int | None  # None: no form-reject table in this database
    # The form imports' part (files, rejected rows, probable matches, dropped rows): what `data-quality` lists too.
    forms: DataQuality = field(default_factory=DataQuality)

    @property
    def unassigned_people(self) -> int:
        """People reported under «не распределён»: unknown spelling or no district at all."""
        return sum(u.people for u in self.unknown_districts) + self.without_district_total

    @property
    def to_fix(self) -> dict[str, int]:
        """Counts per section of what needs an administrator (informational sections excluded)."""
        return {
            "unknown_districts": len(self.unknown_districts),
            "without_district": self.without_district_total,
            "probable_links": len(self.probable_links),
            "name_twins": len(self.name_twins),
            "override_misses": len(self.override_misses),
            "untaken_sessions": len(self.untaken_sessions),
            "stale_defenses": len(self.stale_defenses),
            "sync_warnings": len(self.last_sync.warnings) + len(self.last_sync.errors) if self.last_sync else 0,
            "form_rejects": self.rejects_total or 0,
        }


# Headers of the rejected-rows table (quality.html), for the columns of `form_reject`.
REJECT_HEADERS: dict[str, str] = {
    "form": N_("Форма"),
    "file_name": N_("Файл"),
    "row": N_("Строка"),
    "column": N_("Столбец"),
    "value": N_("Значение"),
    "reason": N_("Причина"),
}

# The report's sections as a person reads them: quality.html's headings and `data-quality`'s lines.
SECTION_TITLES: dict[str, str] = {
    "unknown_districts": N_("Неизвестные написания округов"),
    "without_district": N_("Участники без округа"),
    "probable_links": N_("Вероятные совпадения людей — проверить"),
    "name_twins": N_("Однофамильцы с тем же ФИО в одном округе — возможно, один человек"),
    "override_misses": N_("Ручные исправления [people], которые не сработали"),
    "missing_attendance": N_("Посещения людей, которых Moodle больше не показывает"),
    "untaken_sessions": N_("Прошедшие занятия без отметок"),
    "stale_defenses": N_("Защиты без оценки"),
    "sync_warnings": N_("Предупреждения последней синхронизации"),
    "form_rejects": N_("Отклонённые строки форм"),
}


def section_title(key: str) -> str:
    """A section's heading in the active language (SECTION_TITLES holds the catalog's msgids)."""
    return _(SECTION_TITLES[key])


def reject_headers() -> dict[str, str]:
    """REJECT_HEADERS in the active language, for the rejected-rows table."""
    return {key: _(title) for key, title in REJECT_HEADERS.items()}


def toml_string(text: str) -> str:
    """A TOML basic string (JSON escaping is valid TOML for these characters)."""
    return json.dumps(text, ensure_ascii=False)
