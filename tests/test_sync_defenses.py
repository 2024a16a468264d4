"""An incremental pull's pending defense never overrides a stored grade; a complete pull's does."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from connectors.base import Batch, CohortRef, DefenseRecord, EnrolmentRecord
from intensive_tracker.store import models as m
from tests.people_factories import person, settings, sync, utc

GRADED = {"passed": 8.0, "failed": 3.0}


def _cohort(defenses: list[DefenseRecord], *, complete: bool) -> Batch:
    """Cohort KU-1 with people 1 and 2 and the given defenses; `complete=False` is a `since` pull."""
    people = [person(1, "Антонова Анна Сергеевна", "Балашиха"), person(2, "Борисова Бэла Ивановна", "Люберцы")]
    return Batch(
        source="moodle",
        cohort=CohortRef(key="KU-1", program="ku", school_year="2023/24"),
        people=people,
        enrolments=[EnrolmentRecord(external_id=p.external_id) for p in people],
        defenses=defenses,
        defenses_complete=complete,
    )


def _graded(outcome: str, uid: str = "1") -> DefenseRecord:
    return DefenseRecord(external_id=uid, outcome=outcome, grade=GRADED[outcome], graded_at=utc("2023-12-15 09:00"))


def _pending(uid: str = "1") -> DefenseRecord:
    return DefenseRecord(external_id=uid, outcome="pending", attempt=1)


def _stored(engine: Engine) -> dict[str, tuple[str, float | None]]:
    """Account external id → (outcome, grade) of the stored defenses."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(m.Account.external_id, m.Defense.outcome, m.Defense.grade).join(
                m.Account, m.Account.id == m.Defense.account_id
            )
        )
        return {ext: (outcome, grade) for ext, outcome, grade in rows}


@pytest.mark.parametrize("outcome", ["passed", "failed"])
def test_incremental_pending_keeps_the_stored_grade(engine: Engine, outcome: str) -> None:
    """A stored graded outcome stays, grade and all, when a `since` pull sees only a new submission."""
    config = settings()
    assert sync(engine, config, [_cohort([_graded(outcome)], complete=True)]).status == "ok"
    assert _stored(engine) == {"1": (outcome, GRADED[outcome])}

    report = sync(engine, config, [_cohort([_pending()], complete=False)])
    assert report.status == "ok", report.errors
    assert _stored(engine) == {"1": (outcome, GRADED[outcome])}


def test_complete_pull_pending_replaces_the_stored_grade(engine: Engine) -> None:
    """A complete pull is the truth: its pending (the grade was withdrawn) replaces a stored pass."""
    config = settings()
    sync(engine, config, [_cohort([_graded("passed")], complete=True)])

    report = sync(engine, config, [_cohort([_pending()], complete=True)])
    assert report.status == "ok", report.errors
    assert _stored(engine) == {"1": ("pending", None)}


def test_incremental_pending_is_written_where_nothing_was_graded(engine: Engine) -> None:
    """The guard is only for graded outcomes: a first pending in a `since` pull is stored next to the pass."""
    config = settings()
    sync(engine, config, [_cohort([_graded("passed")], complete=True)])

    sync(engine, config, [_cohort([_pending("1"), _pending("2")], complete=False)])
    assert _stored(engine) == {"1": ("passed", 8.0), "2": ("pending", None)}


def test_incremental_grade_still_replaces_the_stored_one(engine: Engine) -> None:
    """A `since` pull that brings a new grade (a failed attempt passed on retry) is written."""
    config = settings()
    sync(engine, config, [_cohort([_graded("failed")], complete=True)])

    sync(engine, config, [_cohort([_graded("passed")], complete=False)])
    assert _stored(engine) == {"1": ("passed", 8.0)}
