"""Report figures on a hand-built data set (tests/report_data.py) whose answers are known by heart."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from intensive_tracker.people.districts import load_registry
from intensive_tracker.reports.figure_types import OutcomeCounts, ProgramSummary, Summary
from intensive_tracker.reports.figures import build_summary
from intensive_tracker.reports.freshness import freshness_warnings
from intensive_tracker.store import models as m
from intensive_tracker.text import UNASSIGNED
from tests import report_data

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2024, 2, 1, 12, tzinfo=MSK)


@pytest.fixture
def summary(engine: Engine) -> Summary:
    report_data.load(engine)
    return build_summary(engine, load_registry(), tz=MSK, now=NOW)


@pytest.fixture
def ku(summary: Summary) -> ProgramSummary:
    (program,) = summary.programs
    return program


def test_sessions_numbered_with_local_dates_and_present_counts(ku: ProgramSummary) -> None:
    """Sessions of the school year are numbered 1… in date order; one nobody attended counts 0, not missing."""
    year = ku.current
    assert year is not None and year.school_year == "2023/24"
    assert [(s.number, s.day.isoformat(), s.present) for s in year.held] == [
        (1, "2023-09-20", 2),
        (2, "2023-10-11", 2),
        (3, "2023-11-15", 0),
        (4, "2024-01-24", 2),
    ]


def test_attendances_versus_unique_participants_and_visit_spread(ku: ProgramSummary) -> None:
    """Re-attendance counts each visit once in attendances and each person once in participants."""
    year = ku.current
    assert year is not None
    assert (year.attendances, year.unique_participants) == (6, 4)
    assert year.visits == {1: 3, 2: 0, 3: 1, 4: 0}


def test_defense_on_31_december_and_at_1_am_on_1_january_moscow(ku: ProgramSummary) -> None:
    """31 Dec 23:30 MSK is 2023 (2nd half); 1 Jan 01:00 MSK (31 Dec 22:00 UTC) is 2024 (1st half)."""
    passed = ku.defenses_passed
    assert passed.by_calendar_year == {"2023": 1, "2024": 1}
    assert passed.by_half_year == {"2023-H2": 1, "2024-H1": 1}
    assert passed.by_school_year == {"2023/24": 2}


def test_outcomes_by_period_place_undated_pending_in_its_launch_half_year(ku: ProgramSummary) -> None:
    """Failed and pending are counted too; a pending defense without a date falls in its launch's half-year."""
    assert ku.outcomes_by_school_year == {"2023/24": OutcomeCounts(passed=2, failed=1, pending=1)}
    assert ku.outcomes_by_half_year == {"2023-H2": OutcomeCounts(1, 1, 0), "2024-H1": OutcomeCounts(1, 0, 1)}
    assert ku.outcomes_by_calendar_year == {"2023": OutcomeCounts(1, 1, 0), "2024": OutcomeCounts(1, 0, 1)}


def test_participation_terms_label_a_year_whose_records_end_before_july(ku: ProgramSummary) -> None:
    """The «Сроки участия» row of a year with records only up to June reads «2024 (1 полугодие)»."""
    assert ku.participation_terms == [("2023", 1), ("2024 (1 полугодие)", 1)]


def test_districts_resolve_aliases_and_keep_people_without_district_apart(ku: ProgramSummary) -> None:
    """Rows per district (alias → canonical name), the person without district last, none dropped."""
    year = ku.current
    assert year is not None
    rows = [(d.district, d.participants, d.attendances, d.defenses_passed) for d in year.districts]
    assert rows == [("Балашиха", 1, 3, 1), ("Люберцы", 1, 1, 0), ("Химки", 1, 1, 1), (UNASSIGNED, 1, 1, 0)]
    assert year.districts[0].defended_share == 1.0 and year.districts[1].defended_share == 0.0
    assert year.districts_reached == ["Балашиха", "Люберцы", "Химки"]
    assert year.districts_with_defenses == 2
    territorial = load_registry().territorial(on=date(2023, 9, 1))  # districts as they stood that school year
    assert year.districts_not_reached == [d for d in territorial if d not in {"Балашиха", "Люберцы", "Химки"}]
    assert year.districts_not_reached == sorted(year.districts_not_reached)


def test_launches_carry_their_own_sessions_visits_and_outcomes(ku: ProgramSummary) -> None:
    """Each half-year launch has its sessions, attendances, unique people, visit spread and defenses."""
    year = ku.current
    assert year is not None
    h1, h2 = year.launches
    assert (h1.cohort, h1.term, len(h1.held), h1.attendances, h1.unique_participants) == ("KU-H1", 1, 3, 4, 3)
    assert h1.visits == {1: 2, 2: 1, 3: 0}
    assert h1.outcomes == OutcomeCounts(passed=1, failed=1, pending=0)
    assert (h2.cohort, h2.attendances, h2.unique_participants, h2.outcomes) == ("KU-H2", 2, 2, OutcomeCounts(1, 0, 1))


def test_earlier_school_year_kept_apart(ku: ProgramSummary) -> None:
    """A session in March 2023 belongs to 2022/23, not to the current year."""
    old = ku.year("2022/23")
    assert old is not None and (old.sessions_held, old.attendances, old.unique_participants) == (1, 1, 1)
    assert [y.school_year for y in ku.years] == ["2022/23", "2023/24"]


def test_funnel_without_forms_has_no_registered_step(ku: ProgramSummary) -> None:
    """Without form registrations the funnel has no «registered» figure (None, not 0)."""
    assert ku.current is not None and ku.current.registered is None


def test_funnel_counts_registered_enrolments(engine: Engine) -> None:
    """Enrolments with status "registered" (form registrations) feed the funnel's first step."""
    report_data.load(engine)
    with engine.begin() as conn:
        cohort = conn.execute(select(m.Cohort.id).where(m.Cohort.key == "KU-H1")).scalar_one()
        account, person = conn.execute(
            select(m.Account.id, m.Account.participant_id).where(m.Account.external_id == "d")
        ).one()
        conn.execute(
            insert(m.Enrolment).values(cohort_id=cohort, account_id=account, participant_id=person, status="registered")
        )
    (ku,) = build_summary(engine, load_registry(), tz=MSK, now=NOW).programs
    assert ku.current is not None and ku.current.registered == 1


def test_funnel_counts_form_registrations(engine: Engine) -> None:
    """Form registrations count once per person; one removed from a corrected file does not."""
    report_data.load(engine)
    with engine.begin() as conn:
        cohort = conn.execute(select(m.Cohort.id).where(m.Cohort.key == "KU-H2")).scalar_one()
        accounts = conn.execute(select(m.Account.id, m.Account.participant_id)).all()
        for n, (account, person) in enumerate(accounts):
            conn.execute(
                insert(m.Registration).values(
                    cohort_id=cohort,
                    account_id=account,
                    participant_id=person,
                    form="reg",
                    missing_since=NOW if n == 0 else None,
                )
            )
    (ku,) = build_summary(engine, load_registry(), tz=MSK, now=NOW).programs
    assert ku.current is not None and ku.current.registered == len({p for _, p in accounts[1:]}) == 3


def test_freshness_warns_after_two_days_and_on_a_troubled_last_run() -> None:
    """A successful sync older than two days, none at all, or a last run with problems each warn."""
    now = datetime(2024, 2, 10, 12, tzinfo=MSK)
    assert freshness_warnings(now=now, last_success=now - timedelta(days=1), last_status="ok") == []
    old = freshness_warnings(now=now, last_success=now - timedelta(days=2, minutes=1), last_status="ok")
    assert len(old) == 1 and "двух дней" in old[0]
    troubled = freshness_warnings(now=now, last_success=now - timedelta(hours=1), last_status="problems")
    assert len(troubled) == 1 and "с проблемами" in troubled[0]
    assert "ещё не было" in freshness_warnings(now=now, last_success=None, last_status=None)[0]


def test_summary_records_last_successful_sync(summary: Summary) -> None:
    """The summary names the last successful sync and, being fresh, carries no warning."""
    assert summary.last_success is not None and summary.last_sync_status == "ok"
    assert summary.freshness_warnings == []


@pytest.mark.parametrize(
    "status, label", [("interrupted", "прервана"), ("problems", "завершена с проблемами"), ("failed", "не выполнена")]
)
def test_the_last_runs_status_is_named_in_russian(status: str, label: str) -> None:
    """«Последняя синхронизация прервана: …», never the stored English value."""
    now = datetime(2024, 3, 1, 12, tzinfo=ZoneInfo("Europe/Moscow"))
    (warning,) = freshness_warnings(now=now, last_success=now - timedelta(hours=1), last_status=status)
    assert warning.startswith(f"Последняя синхронизация {label}:") and status not in warning
