"""P1: a district's email holds only that district's people, and every eligible person is in some email.

Checked on every part of the message: the HTML table with its per-session matrix and defense date and
grade, the plain-text lines with the dates attended, and the XLSX attachment's matrix.
"""

from __future__ import annotations

import email
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from email import policy

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from intensive_tracker.mail.message import build_message, wire_bytes
from intensive_tracker.mail.plan import RowsFor, district_rows, plan_mails
from intensive_tracker.people.districts import load_registry
from intensive_tracker.periods import ru_date
from intensive_tracker.reports.roster_types import OUTCOME_LABELS, Roster, RosterRow
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import transaction
from intensive_tracker.text import UNASSIGNED
from tests.mail_support import (
    LAB,
    SESSION_DAYS,
    Person,
    attachment,
    html_matrix,
    html_rows,
    populate,
    settings_for,
    text_attended,
    text_rows,
    xlsx_matrix,
    xlsx_rows,
)

REGISTRY = load_registry()
# Spellings with traps: aliases, prefixes, case and spaces, districts merged into another before
# 2023/24 (their people "moved" to the absorber), an unknown spelling and none at all.
SPELLINGS = [
    "Балашиха",
    "г.о. Балашиха",
    "Железнодорожный",
    "Коломна",
    "Озёры",
    "Ивантеевка",
    "Пушкинский",
    "мытищи ",
    "Городской округ Мытищи",
    "Неизвестный район",
    None,
]
NAMES = ["Иванова Анна Петровна", "Петров Илья", "Ёлкина Ольга", "<script>alert(1)</script>", 'Кац "Мира" & Ко']
SCHOOLS = ["МБОУ СОШ №1", "Гимназия №2", "Лицей <b>3</b>"]
ADDRESSES = {d: f"umc.{i}@test.invalid" for i, d in enumerate(REGISTRY.territorial())}
DISTRICT_OF_ADDRESS = {a: d for d, a in ADDRESSES.items()}

people_strategy = st.lists(
    st.builds(
        Person,
        full_name=st.sampled_from(NAMES),
        district_raw=st.sampled_from(SPELLINGS),
        school=st.sampled_from(SCHOOLS),
        sessions=st.integers(0, 3),
        defense=st.sampled_from([None, "passed", "failed", "pending"]),
        grade=st.sampled_from([None, 8.0, 7.5]),
    ),
    min_size=1,
    max_size=14,
)


def _clear(engine: Engine) -> None:
    with transaction(engine) as s:
        for table in (
            m.Outbox,
            m.Attendance,
            m.Defense,
            m.Enrolment,
            m.Account,
            m.Participant,
            m.Session,
            m.Cohort,
            m.Program,
        ):
            s.connection().execute(delete(table))


def _expected(people: Sequence[Person]) -> dict[str, Counter[tuple[str, str, int, str]]]:
    """Computed without the mail code: each eligible person under the district their spelling means."""
    on = date(2023, 9, 1)
    by_district: dict[str, Counter[tuple[str, str, int, str]]] = {}
    for p in people:
        if p.sessions == 0 and p.defense is None:
            continue  # neither attended nor defended: in no roster, in no email
        district = REGISTRY.resolve(p.district_raw, on=on).name or UNASSIGNED
        by_district.setdefault(district, Counter())[(p.full_name, p.school, p.sessions, OUTCOME_LABELS[p.defense])] += 1
    return by_district


Matrix = tuple[str, str, tuple[str, ...], int, str, str, str]


def _expected_matrix(people: Sequence[Person]) -> dict[str, Counter[Matrix]]:
    """Each eligible person's matrix row (P in the first sessions attended, the rest unmarked) by district.

    Without any defense in the program there is no defense column: the defense cell reads "".
    """
    on = date(2023, 9, 1)
    has_defense = any(p.defense for p in people)
    by_district: dict[str, Counter[Matrix]] = {}
    for p in people:
        if p.sessions == 0 and p.defense is None:
            continue
        graded = p.defense in ("passed", "failed")
        grade = f"{p.grade:g}".replace(".", ",") if graded and p.grade is not None else ""
        marks = tuple("P" if i < p.sessions else "" for i in range(len(SESSION_DAYS)))
        district = REGISTRY.resolve(p.district_raw, on=on).name or UNASSIGNED
        by_district.setdefault(district, Counter())[
            (
                p.full_name,
                p.school,
                marks,
                p.sessions,
                OUTCOME_LABELS[p.defense] if has_defense else "",
                "01.12.23" if graded else "",
                grade,
            )
        ] += 1
    return by_district


def _xlsx_as_text(row: tuple[object, ...]) -> Matrix:
    name, school, marks, sessions, defense, graded_at, grade = row
    return (
        name,
        school,
        marks,
        sessions,
        defense or "",
        ru_date(graded_at) if graded_at else "",  # type: ignore[arg-type,return-value]
        f"{grade:g}".replace(".", ",") if grade is not None else "",
    )


def check_isolation(engine: Engine, db_url: str, people: Sequence[Person], rows_for: RowsFor) -> None:
    """Build every message as it goes on the wire, read it back, compare with the recipients' districts."""
    _clear(engine)
    populate(engine, people)
    config = settings_for(db_url, {d: [a] for d, a in ADDRESSES.items()}, copy_to_lab=False)
    plan = plan_mails(config, engine, REGISTRY, rows_for=rows_for)
    expected = _expected(people)
    seen: dict[str, Counter[tuple[str, str, int, str]]] = {}
    expected_matrix, seen_matrix = _expected_matrix(people), {}  # type: ignore[var-annotated]
    now = datetime(2024, 6, 1, tzinfo=UTC)
    for mail in plan.mails:
        raw = wire_bytes(
            build_message(
                mail,
                settings=config.mail,
                message_id="<p1@test.invalid>",
                now=now,  # type: ignore[arg-type]
                tz=config.tz,
            )
        )
        msg = email.message_from_bytes(raw, policy=policy.default)
        to = [a.strip() for a in str(msg["To"]).split(",")]
        assert len(to) == 1 and msg["Cc"] is None
        district = UNASSIGNED if to == [LAB] else DISTRICT_OF_ADDRESS[to[0]]
        rows = Counter(html_rows(msg))  # type: ignore[arg-type]
        assert rows == Counter(text_rows(msg)) == Counter(xlsx_rows(attachment(msg)[1]))  # type: ignore[arg-type]
        # Only the recipient's district's people, each as often as they exist there.
        assert not rows - expected.get(district, Counter()), (
            f"{district} got {rows - expected.get(district, Counter())}"
        )
        seen.setdefault(district, Counter()).update(rows)
        # The matrix, defense date and grade: the same people in the HTML and the attachment, none of another district.
        headers, sheet_rows = xlsx_matrix(attachment(msg)[1])  # type: ignore[arg-type]
        assert [ru_date(h) for h in headers] == [ru_date(d) for d in SESSION_DAYS]
        matrix = Counter(html_matrix(msg))  # type: ignore[arg-type]
        assert matrix == Counter(_xlsx_as_text(r) for r in sheet_rows)
        assert not matrix - expected_matrix.get(district, Counter()), (
            f"{district} got {matrix - expected_matrix.get(district, Counter())}"
        )
        dates = Counter(text_attended(msg))  # type: ignore[arg-type]
        assert dates == Counter(
            (r[0], tuple(ru_date(d) for d, mark in zip(SESSION_DAYS, r[2]) if mark)) for r in matrix.elements()
        )
        seen_matrix.setdefault(district, Counter()).update(matrix)
    assert seen == expected  # every eligible person is in some message
    assert seen_matrix == expected_matrix


@pytest.fixture
def shared_engine(engine: Engine) -> Engine:
    return engine


def _property(rows_for: RowsFor, max_examples: int, *, shrink: bool = True):  # type: ignore[no-untyped-def]
    phases = (Phase.generate, Phase.shrink) if shrink else (Phase.generate,)

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(people=people_strategy)
    @example(people=[Person("Ёлкина Ольга", "Балашиха", "Гимназия №2", sessions=2)])  # a program without a defense
    def run(engine: Engine, db_url: str, people: list[Person]) -> None:
        check_isolation(engine, db_url, people, rows_for)

    return run


def test_each_message_holds_only_its_districts_people(engine: Engine, db_url: str) -> None:
    """P1: for generated people (same names in two districts, shared schools, merged districts) isolation holds."""
    _property(district_rows, 30)(engine, db_url)


def _no_district_filter(all_rosters: Mapping[str, Roster], district: str) -> list[RosterRow]:
    """The mutant: every roster's rows, whatever the district."""
    return [row for roster in all_rosters.values() for row in roster.rows]


def test_property_fails_when_the_district_filter_is_removed(engine: Engine, db_url: str) -> None:
    """Mutation check: with the district filter removed, P1 must find a leak (the property can fail)."""
    with pytest.raises(AssertionError, match=" got Counter"):
        _property(_no_district_filter, 60, shrink=False)(engine, db_url)
