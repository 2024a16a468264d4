"""A person's card: every account and source, districts, per program and school year the cohort,
sessions with dates and statuses, the defense, and the data-quality items that concern the person.

The per-year part is read from `roster.rosters` (the query behind the district pages and e-mails),
so a card never disagrees with the district page. For the lab only: it names sources and accounts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from intensive_tracker.i18n import _, ngettext
from intensive_tracker.people.districts import Registry
from intensive_tracker.periods import local_date, school_year_of
from intensive_tracker.reports.link_reasons import link_reason_text
from intensive_tracker.reports.roster import rosters
from intensive_tracker.reports.roster_types import Roster, RosterRow
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import chunked
from intensive_tracker.text import UNASSIGNED

# (program key, school year) → district → roster, as site.site_rosters gives them
Rosters = Mapping[tuple[str, str], Mapping[str, Roster]]


@dataclass(frozen=True)
class AccountInfo:
    ref: str  # "moodle:1203"
    full_name: str
    email: str | None
    district_raw: str | None
    school: str | None
    link_reason: str
    forms: tuple[str, ...]  # "reg-ku-2023: reg.csv, строка 14 (registration)"


@dataclass(frozen=True)
class CardSession:
    day: date
    mark: str  # status acronym or «+»
    label: str
    present: bool
    deleted: bool


@dataclass(frozen=True)
class CardYear:
    program_key: str
    program_title: str
    school_year: str
    district: str  # the district the report lists the person under
    cohorts: tuple[str, ...]
    sessions: tuple[CardSession, ...]
    row: RosterRow
    has_defense: bool


@dataclass(frozen=True)
class PersonCard:
    participant_id: int
    full_name: str
    district_raw: str | None
    school: str | None
    district: str  # canonical, from the stored spelling (today)
    other_districts: tuple[tuple[str, str], ...]  # (district, account ref) another source names
    accounts: tuple[AccountInfo, ...]
    years: tuple[CardYear, ...]
    quality: tuple[str, ...]
    quality_items: tuple[dict[str, Any], ...]


def program_years(engine: Engine) -> list[tuple[str, str, str]]:
    """(program key, title, school year) of every program and year with sessions or defenses, in order."""
    found: set[tuple[str, str, str]] = set()
    with engine.connect() as conn:
        for key, title, starts in conn.execute(
            select(col(m.Program.key), col(m.Program.title), col(m.Session.starts_at))
            .join(m.Cohort, col(m.Cohort.program_id) == col(m.Program.id))
            .join(m.Session, col(m.Session.cohort_id) == col(m.Cohort.id))
        ):
            found.add((key, title, school_year_of(local_date(starts))))
        for key, title, year, graded in conn.execute(
            select(col(m.Program.key), col(m.Program.title), col(m.Cohort.school_year), col(m.Defense.graded_at))
            .join(m.Cohort, col(m.Cohort.program_id) == col(m.Program.id))
            .join(m.Defense, col(m.Defense.cohort_id) == col(m.Cohort.id))
        ):
            label = school_year_of(local_date(graded)) if graded is not None else year
            if label:
                found.add((key, title, label))
    return sorted(found, key=lambda x: (x[0], x[2]))


def person_rosters(
    engine: Engine, registry: Registry, ids: Iterable[int]
) -> tuple[dict[tuple[str, str], dict[str, Roster]], dict[str, str]]:
    """`roster.rosters` of every program and year, limited to these people; and program titles."""
    wanted = set(ids)
    titles: dict[str, str] = {}
    result: dict[tuple[str, str], dict[str, Roster]] = {}
    for key, title, year in program_years(engine):
        titles[key] = title
        result[(key, year)] = rosters(engine, registry, program_key=key, school_year=year, only=wanted)
    return result, titles


def build_cards(
    engine: Engine,
    registry: Registry,
    ids: Iterable[int],
    all_rosters: Rosters,
    titles: Mapping[str, str],
    quality_items: Iterable[dict[str, Any]] = (),
) -> list[PersonCard]:
    """One card per participant id, its years taken from the rosters given."""
    wanted = sorted(set(ids))
    rows: dict[int, list[CardYear]] = defaultdict(list)
    for (program, year), by_district in sorted(all_rosters.items()):
        for district, roster in by_district.items():
            for row in roster.rows:
                if row.participant_id in wanted:
                    rows[row.participant_id].append(
                        _year(program, titles.get(program, program), year, district, roster, row)
                    )
    concerns: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in quality_items:
        for pid in _participants(item):
            concerns[pid].append(item)
    accounts, people = _accounts(engine, wanted)
    cards = []
    for pid in wanted:
        if pid not in people:
            continue
        p = people[pid]
        district = registry.resolve(p.district_raw).name or UNASSIGNED
        others = tuple(
            dict.fromkeys(
                (name, a.ref)
                for a in accounts[pid]
                if (name := registry.resolve(a.district_raw).name) is not None and name != district
            )
        )
        cards.append(
            PersonCard(
                participant_id=pid,
                full_name=p.full_name,
                district_raw=p.district_raw,
                school=p.school,
                district=district,
                other_districts=others,
                accounts=tuple(accounts[pid]),
                years=tuple(sorted(rows[pid], key=lambda y: (y.school_year, y.program_key), reverse=True)),
                quality=tuple(quality_text(i) for i in concerns[pid]),
                quality_items=tuple(concerns[pid]),
            )
        )
    return cards


def _year(program: str, title: str, year: str, district: str, roster: Roster, row: RosterRow) -> CardYear:
    sessions = tuple(
        CardSession(c.day, mark.text, mark.label, mark.present, c.deleted)
        for c, mark in zip(roster.columns, row.marks)
        if mark.text and mark.held
    )
    return CardYear(program, title, year, district, row.cohorts, sessions, row, roster.has_defense)


def _accounts(engine: Engine, ids: list[int]) -> tuple[dict[int, list[AccountInfo]], dict[int, Any]]:
    accounts: dict[int, list[AccountInfo]] = defaultdict(list)
    people: dict[int, Any] = {}
    with engine.connect() as conn:
        for chunk in chunked(ids):
            people.update(
                {p.id: p for p in conn.execute(select(m.Participant).where(col(m.Participant.id).in_(chunk)))}
            )
            forms: dict[int, list[str]] = defaultdict(list)
            for e in conn.execute(
                select(m.FormEntry)
                .where(col(m.FormEntry.participant_id).in_(chunk))
                .order_by(col(m.FormEntry.form), col(m.FormEntry.file_name), col(m.FormEntry.row))
            ):
                where = _(
                    "{form}: {file}, строка {row} ({kind})", form=e.form, file=e.file_name, row=e.row, kind=e.kind
                )
                gone = " — " + _("строки больше нет в файле") if e.missing_since is not None else ""
                forms[e.account_id].append(where + gone)
            for a in conn.execute(
                select(m.Account).where(col(m.Account.participant_id).in_(chunk)).order_by(col(m.Account.id))
            ):
                accounts[a.participant_id].append(
                    AccountInfo(
                        ref=f"{a.source}:{a.external_id}",
                        full_name=a.full_name,
                        email=a.email,
                        district_raw=a.district_raw,
                        school=a.school,
                        link_reason=link_reason_text(a.link_reason),
                        forms=tuple(forms.get(a.id, ())),
                    )
                )
    return accounts, people


def _participants(item: Any) -> set[int]:
    """Every participant id an item of quality.json names, at any depth."""
    if isinstance(item, dict):
        found = {item["participant_id"]} if isinstance(item.get("participant_id"), int) else set()
        for value in item.values():
            found |= _participants(value)
        return found
    if isinstance(item, list):
        return set().union(*(_participants(v) for v in item)) if item else set()
    return set()


def quality_text(item: Mapping[str, Any]) -> str:
    """A quality.json item as one sentence for the card (in the active language)."""
    kind = item.get("kind")
    texts: dict[str, Callable[[Mapping[str, Any]], str]] = {
        "unknown_district": lambda i: _(
            "округ записан как «{spelling}»: такого написания нет в справочнике", spelling=i["spelling"]
        ),
        "without_district": lambda i: _("городской округ не указан"),
        "probable_link": lambda i: _(
            "учётная запись {account} присоединена по ФИО и округу: проверьте", account=i["account"]
        ),
        "email_link": lambda i: _("учётная запись {account} присоединена по e-mail", account=i["account"]),
        "manual_link": lambda i: _("учётная запись {account} объединена или отделена вручную", account=i["account"]),
        "name_twins": lambda i: _("в округе {district} есть другой участник с тем же ФИО", district=i["district"]),
        "attendance_not_listed": lambda i: _(
            "{cohort}: есть отметки, но Moodle больше не показывает участника", cohort=i["cohort"]
        ),
        "defense_pending": lambda i: ngettext(
            "{cohort}: защита ожидает оценки {n} день",
            "{cohort}: защита ожидает оценки {n} дней",
            i["days"],
            cohort=i["cohort"],
        ),
    }
    return texts[kind](item) if kind in texts else f"{kind}: {item.get('message') or item.get('reason') or ''}"
