"""What to send: one district email per (district, program, period), its recipients and its rows.

Rows come only from `roster.rosters` (the report's district pages use the same function), and a
message gets exactly one district's roster through `district_rows`: the district filter the
isolation property test (P1) mutates. Recipients come from the config, never from row data.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from intensive_tracker.config import MailSettings, Settings
from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import _, ngettext
from intensive_tracker.people.districts import Registry
from intensive_tracker.periods import local_date, school_year_of
from intensive_tracker.reports.roster import rosters
from intensive_tracker.reports.roster_types import FORM_SIGN_IN, Roster, RosterRow, SessionColumn
from intensive_tracker.store import models as m
from intensive_tracker.text import UNASSIGNED

KIND = "participants-results"
# How people type «no district» in --district, and the file names' word for it (not translated: names stay).
UNASSIGNED_LABEL = "не распределены"  # not a message
ATTACHMENT_PREFIX = "Участники-итоги"  # not a message: a file name, the same in every language


@dataclass(frozen=True)
class RegionTotals:
    """The whole region's figures for the same program and period: aggregates only, no people."""

    participants: int
    attendances: int
    defenses_passed: int
    districts: int


@dataclass(frozen=True)
class DistrictMail:
    """Everything one message is built from; holds no row of another district."""

    district: str
    program_key: str
    program_title: str
    period: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    rows: tuple[RosterRow, ...]
    region: RegionTotals
    kind: str = KIND
    columns: tuple[SessionColumn, ...] = ()  # the period's sessions, the matrix's columns
    has_defense: bool = True

    @property
    def legend(self) -> list[tuple[str, str]]:
        """(acronym, description) of every status in the matrix, in the order first met, «+» last."""
        seen: dict[str, str] = {}
        for row in self.rows:
            for mark in row.marks:
                if mark.text and mark.held and mark.text != FORM_SIGN_IN:
                    seen.setdefault(mark.text, mark.label)
        found = [(k, v) for k, v in seen.items()]
        if any(mark.text == FORM_SIGN_IN for row in self.rows for mark in row.marks):
            found.append((FORM_SIGN_IN, _("отметка в листе регистрации")))
        return found

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *(a for a in self.cc if a not in self.to)]

    @property
    def unassigned(self) -> bool:
        return self.district == UNASSIGNED

    @property
    def district_label(self) -> str:
        """The district as the message names it («не распределены» in the document's language)."""
        return _("не распределены") if self.unassigned else self.district

    @property
    def participants(self) -> int:
        return len(self.rows)

    @property
    def attendances(self) -> int:
        return sum(r.sessions_attended for r in self.rows)

    @property
    def defenses_passed(self) -> int:
        return sum(1 for r in self.rows if r.defense == "passed")

    @property
    def subject(self) -> str:
        return _(
            "Участники-итоги: {program}, {period} учебный год — {district}",
            program=self.program_title,
            period=self.period,
            district=self.district_label,
        )

    @property
    def attachment_name(self) -> str:
        label = UNASSIGNED_LABEL if self.unassigned else self.district
        district = re.sub(r"[^\w-]+", "-", label).strip("-")
        return f"{ATTACHMENT_PREFIX}_{district}_{self.period.replace('/', '-')}.xlsx"

    @property
    def content_hash(self) -> str:
        """Changes when the district's rows or recipients change (not when another district's do)."""
        payload = {
            "recipients": self.recipients,
            "rows": [[r.participant_id, r.full_name, r.school, r.sessions_attended, r.defense] for r in self.rows],
        }
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Plan:
    mails: list[DistrictMail]
    warnings: list[str]


RowsFor = Callable[[Mapping[str, Roster], str], Sequence[RosterRow]]


def district_rows(all_rosters: Mapping[str, Roster], district: str) -> list[RosterRow]:
    """The district filter: the rows of exactly this district's roster, nothing else."""
    roster = all_rosters.get(district)
    return list(roster.rows) if roster is not None else []


def mail_settings(settings: Settings) -> MailSettings:
    if settings.mail is None:
        raise ConfigError(_("в конфигурации нет раздела [mail]: добавьте его (см. config.example.toml, [mail])"))
    return settings.mail


def district_recipients(settings: Settings, registry: Registry) -> dict[str, list[str]]:
    """[districts.recipients] checked against the registry: every key a canonical district name."""
    from intensive_tracker.people.districts import check_recipients

    checked = check_recipients(settings.districts.recipients, registry)
    return {name: list(dict.fromkeys(addresses)) for name, addresses in checked.items()}


def resolve_district(name: str, registry: Registry) -> str:
    """--district NAME → the canonical name (any spelling the registry knows, or «не распределён»)."""
    if name.strip().lower() in (UNASSIGNED, UNASSIGNED_LABEL, _("не распределены").lower()):
        return UNASSIGNED
    resolved = registry.resolve(name).name
    if resolved is None:
        raise ConfigError(_("--district: «{name}» — такого округа нет в справочнике", name=name))
    return resolved


def selected_programs(engine: Engine, wanted: str | None) -> list[tuple[str, str]]:
    """(key, title) of the programs to mail: the one asked for, else every synced program."""
    with engine.connect() as conn:
        programs = [
            (k, t)
            for k, t in conn.execute(select(col(m.Program.key), col(m.Program.title)).order_by(col(m.Program.id)))
        ]
    if wanted is None:
        return programs
    chosen = [p for p in programs if p[0] == wanted]
    if not chosen:
        known = ", ".join(k for k, _title in programs) or _("никаких; выполните sync")
        raise ConfigError(_("программы {key} нет в базе (есть: {known})", key=repr(wanted), known=known))
    return chosen


def current_period(engine: Engine, program_key: str, tz: ZoneInfo) -> str | None:
    """The latest school year in which the program has sessions."""
    with engine.connect() as conn:
        starts = (
            conn.execute(
                select(col(m.Session.starts_at))
                .join(m.Cohort, col(m.Cohort.id) == col(m.Session.cohort_id))
                .join(m.Program, col(m.Program.id) == col(m.Cohort.program_id))
                .where(col(m.Program.key) == program_key)
            )
            .scalars()
            .all()
        )
    return max((school_year_of(local_date(s, tz)) for s in starts), default=None)


def plan_mails(
    settings: Settings,
    engine: Engine,
    registry: Registry,
    *,
    program: str | None = None,
    period: str | None = None,
    district: str | None = None,
    rows_for: RowsFor = district_rows,
) -> Plan:
    """Every message of the selection; districts with people but no address are warned about."""
    mail = mail_settings(settings)
    recipients = district_recipients(settings, registry)
    only = resolve_district(district, registry) if district is not None else None
    mails: list[DistrictMail] = []
    warnings: list[str] = []
    for key, title in selected_programs(engine, program or mail.program):
        year = period or mail.period or settings.report.school_year or current_period(engine, key, settings.tz)
        if year is None:
            continue
        by_district = rosters(engine, registry, program_key=key, school_year=year)
        region = RegionTotals(
            participants=sum(len(r.rows) for r in by_district.values()),
            attendances=sum(r.attendances for r in by_district.values()),
            defenses_passed=sum(r.defenses_passed for r in by_district.values()),
            districts=sum(1 for d in by_district if d != UNASSIGNED),
        )
        for name in sorted(by_district, key=lambda d: (d == UNASSIGNED, d)):
            if only is not None and name != only:
                continue
            to, cc = _addresses(name, recipients, mail)
            if not to:
                who = "mail.lab_address" if name == UNASSIGNED else f"districts.recipients.«{name}»"
                warnings.append(
                    _(
                        "{program}, {year}: {district} — {people}, но нет адреса: задайте {key}; "
                        "до тех пор письмо не отправляется",
                        program=title,
                        year=year,
                        district=_("не распределены") if name == UNASSIGNED else name,
                        people=ngettext("{n} участник", "{n} участников", len(by_district[name].rows)),
                        key=who,
                    )
                )
                continue
            mails.append(
                DistrictMail(
                    district=name,
                    program_key=key,
                    program_title=title,
                    period=year,
                    to=tuple(to),
                    cc=tuple(cc),
                    rows=tuple(rows_for(by_district, name)),
                    region=region,
                    columns=by_district[name].columns,
                    has_defense=by_district[name].has_defense,
                )
            )
    return Plan(mails, warnings)


def _addresses(district: str, recipients: Mapping[str, list[str]], mail: MailSettings) -> tuple[list[str], list[str]]:
    # People without a resolved district go to the lab only: it owns the data and sorts them out.
    if district == UNASSIGNED:
        return ([mail.lab_address] if mail.lab_address else []), []
    to = recipients.get(district, [])
    cc = [mail.lab_address] if to and mail.copy_to_lab and mail.lab_address and mail.lab_address not in to else []
    return list(to), cc
