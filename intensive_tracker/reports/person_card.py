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
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from intensive_tracker.people.districts import UNASSIGNED, Registry
from intensive_tracker.people.identity import email_key, name_key
from intensive_tracker.periods import local_date, ru_date, school_year_of
from intensive_tracker.reports.roster import Roster, RosterRow, rosters
from intensive_tracker.store import models as m

UNASSIGNED_LABEL = "не распределён"
SIMILAR = 0.8  # a query word this close to a name word is a likely misspelling

# (program key, school year) → district → roster, as site.site_rosters gives them
Rosters = Mapping[tuple[str, str], Mapping[str, Roster]]


@dataclass(frozen=True)
class Match:
    participant_id: int
    how: str  # "email" | "name" | "similar"


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


def find_people(engine: Engine, query: str) -> list[Match]:
    """By e-mail, else by the words of a name (case, ё/е, initials, word order ignored), else by similar words."""
    text = query.strip()
    with engine.connect() as conn:
        if "@" in text:
            key = email_key(text)
            found: set[int] = {
                pid
                for (pid,) in conn.execute(
                    select(col(m.Account.participant_id)).where(
                        or_(col(m.Account.email).ilike(text), col(m.Account.email).ilike(key or ""))
                    )
                )
            }
            found |= {
                pid
                for (pid,) in conn.execute(select(col(m.Participant.id)).where(col(m.Participant.email_key) == key))
                if pid is not None
            }
            return [Match(pid, "email") for pid in sorted(found)]
        names: dict[int, set[str]] = defaultdict(set)
        for participant_id, name in conn.execute(select(col(m.Participant.id), col(m.Participant.full_name))):
            assert participant_id is not None  # a primary key
            names[participant_id].add(name)
        for pid, name in conn.execute(select(col(m.Account.participant_id), col(m.Account.full_name))):
            names[pid].add(name)
    words = _words(text)
    if not words:
        return []
    exact = [pid for pid, all_names in names.items() if any(_covers(words, _words(n), True) for n in all_names)]
    if exact:
        return [Match(pid, "name") for pid in sorted(exact)]
    similar = [pid for pid, all_names in names.items() if any(_covers(words, _words(n), False) for n in all_names)]
    return [Match(pid, "similar") for pid in sorted(similar)]


def _words(name: str) -> list[str]:
    return name_key(name.replace(".", " ")).split()


def _covers(query: list[str], name: list[str], prefix: bool) -> bool:
    """Each query word matches a different word of the name: as its beginning, or (not prefix) closely."""
    free = list(name)
    for word in sorted(query, key=len, reverse=True):
        for candidate in free:
            if candidate.startswith(word) or (not prefix and len(word) >= 4 and _close(word, candidate)):
                free.remove(candidate)
                break
        else:
            return False
    return True


def _close(word: str, candidate: str) -> bool:
    """A misspelt word or the misspelt beginning of one («Иваннова» ~ «иванова», «Ёлкин» ~ «елкина»)."""
    return (
        max(SequenceMatcher(None, word, candidate).ratio(), SequenceMatcher(None, word, candidate[: len(word)]).ratio())
        >= SIMILAR
    )


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
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            people.update(
                {p.id: p for p in conn.execute(select(m.Participant).where(col(m.Participant.id).in_(chunk)))}
            )
            forms: dict[int, list[str]] = defaultdict(list)
            for e in conn.execute(
                select(m.FormEntry)
                .where(col(m.FormEntry.participant_id).in_(chunk))
                .order_by(col(m.FormEntry.form), col(m.FormEntry.file_name), col(m.FormEntry.row))
            ):
                gone = " — строки больше нет в файле" if e.missing_since is not None else ""
                forms[e.account_id].append(f"{e.form}: {e.file_name}, строка {e.row} ({e.kind}){gone}")
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
                        link_reason=a.link_reason,
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
    """A quality.json item as one Russian sentence for the card."""
    kind = item.get("kind")
    texts: dict[str, Callable[[Mapping[str, Any]], str]] = {
        "unknown_district": lambda i: f"округ записан как «{i['spelling']}»: такого написания нет в справочнике",
        "without_district": lambda i: "городской округ не указан",
        "probable_link": lambda i: f"учётная запись {i['account']} присоединена по ФИО и округу: проверьте",
        "email_link": lambda i: f"учётная запись {i['account']} присоединена по e-mail",
        "manual_link": lambda i: f"учётная запись {i['account']} объединена или отделена вручную",
        "name_twins": lambda i: f"в округе {i['district']} есть другой участник с тем же ФИО",
        "attendance_not_listed": lambda i: f"{i['cohort']}: есть отметки, но Moodle больше не показывает участника",
        "defense_pending": lambda i: f"{i['cohort']}: защита ожидает оценки {i['days']} дн.",
    }
    return texts[kind](item) if kind in texts else f"{kind}: {item.get('message') or item.get('reason') or ''}"


def district_label(name: str) -> str:
    return UNASSIGNED_LABEL if name == UNASSIGNED else name


def card_json(card: PersonCard) -> dict[str, Any]:
    """`person --json`: stable English keys, ISO dates."""
    return {
        "participant_id": card.participant_id,
        "full_name": card.full_name,
        "district_raw": card.district_raw,
        "school": card.school,
        "district": district_label(card.district),
        "other_districts": [{"district": d, "account": a} for d, a in card.other_districts],
        "accounts": [
            {
                "account": a.ref,
                "full_name": a.full_name,
                "email": a.email,
                "district_raw": a.district_raw,
                "school": a.school,
                "link_reason": a.link_reason,
                "form_rows": list(a.forms),
            }
            for a in card.accounts
        ],
        "years": [
            {
                "program": y.program_key,
                "program_title": y.program_title,
                "school_year": y.school_year,
                "listed_under": district_label(y.district),
                "cohorts": list(y.cohorts),
                "sessions_attended": y.row.sessions_attended,
                "sessions": [
                    {
                        "date": s.day.isoformat(),
                        "status": s.mark,
                        "status_label": s.label,
                        "present": s.present,
                        "deleted_in_moodle": s.deleted,
                    }
                    for s in y.sessions
                ],
                "defense": (
                    {
                        "outcome": y.row.defense,
                        "label": y.row.defense_label,
                        "date": y.row.defense_date.isoformat() if y.row.defense_date else None,
                        "grade": y.row.defense_grade,
                    }
                    if y.has_defense
                    else None
                ),
            }
            for y in card.years
        ],
        "quality": [dict(i) for i in card.quality_items],
    }


def card_lines(card: PersonCard) -> list[str]:
    """The card as text for the terminal (Russian)."""
    lines = [
        f"{card.full_name} (участник #{card.participant_id})",
        f"  округ: {district_label(card.district)} (записан как «{card.district_raw or ''}»); ОО: {card.school or '—'}",
    ]
    for district, ref in card.other_districts:
        lines.append(f"  другой округ: {district} (по учётной записи {ref})")
    lines.append("  учётные записи:")
    for a in card.accounts:
        lines.append(
            f"    {a.ref}: {a.full_name}, {a.email or 'без e-mail'}, округ «{a.district_raw or ''}» — {a.link_reason}"
        )
        lines += [f"      строка формы {f}" for f in a.forms]
    for y in card.years:
        lines.append(
            f"  {y.program_title}, {y.school_year}: {district_label(y.district)}; поток: {', '.join(y.cohorts)}"
        )
        lines.append(
            f"    посещено занятий: {y.row.sessions_attended}"
            + (
                "; отметки: "
                + ", ".join(
                    f"{ru_date(s.day)} {s.mark}" + (" (удалено в Moodle)" if s.deleted else "") for s in y.sessions
                )
                if y.sessions
                else ""
            )
        )
        if y.has_defense:
            lines.append(f"    {y.row.defense_text}")
    if not card.years:
        lines.append("  ни занятий, ни защит")
    lines += ["  качество данных:", *(f"    {q}" for q in card.quality)] if card.quality else []
    return lines
