"""The nightly plan of a cohort (issue 17): full while active or lately graded, on the weekly day and with --full."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.moodle.plan import plan_cohort
from intensive_tracker.config import CohortSettings, MoodleSettings
from intensive_tracker.periods import to_unix

THURSDAY = datetime(2026, 12, 3, 0, 30, tzinfo=UTC)
COHORT = CohortSettings.model_validate(
    {"key": "KU-1", "program": "ku", "course": "1", "defense": "Защита", "pass_grade": 6}
)
MOODLE = MoodleSettings(standin="demo")


def _cursors(last_session_days: int, graded_days: int | None) -> dict[str, str]:
    cursors = {"last_session:KU-1": str(to_unix(THURSDAY - timedelta(days=last_session_days)))}
    if graded_days is not None:
        cursors["grades:KU-1:77"] = str(to_unix(THURSDAY - timedelta(days=graded_days)))
    return cursors


@pytest.mark.parametrize(
    ("last_session_days", "graded_days", "mode"),
    [
        (100, 100, "incremental"),
        (10, 100, "full"),  # a session ten days ago: active
        (100, 5, "full"),  # a defense graded five days ago
        (100, None, "full"),  # a defense nobody graded yet
    ],
)
def test_cohort_is_incremental_only_when_finished(last_session_days: int, graded_days: int | None, mode: str) -> None:
    """Finished = last session over 45 days past and no grade change for 30 days."""
    plan = plan_cohort(COHORT, _cursors(last_session_days, graded_days), now=THURSDAY, moodle=MOODLE, full=False)
    assert plan.mode == mode


def test_incremental_plan_asks_grades_since_the_cursor() -> None:
    """The incremental look names the grades cursor it asks `since`."""
    plan = plan_cohort(COHORT, _cursors(100, 100), now=THURSDAY, moodle=MOODLE, full=False)
    assert plan.grades_key == "grades:KU-1:77"


def test_weekly_day_full_flag_and_zero_days_fetch_everything() -> None:
    """Sunday night (Moscow), `--full` and finished_after_days = 0 each make a finished cohort full."""
    cursors = _cursors(100, 100)
    sunday = datetime(2026, 12, 5, 22, 30, tzinfo=UTC)  # 01:30 on Sunday in Moscow
    assert plan_cohort(COHORT, cursors, now=sunday, moodle=MOODLE, full=False).mode == "full"
    assert (
        plan_cohort(COHORT, cursors, now=THURSDAY, moodle=MOODLE, full=True).reason
        == "запрошена полная загрузка («sync --full»)"
    )
    off = MOODLE.model_copy(update={"finished_after_days": 0})
    assert plan_cohort(COHORT, cursors, now=THURSDAY, moodle=off, full=False).mode == "full"
    assert plan_cohort(COHORT, {}, now=THURSDAY, moodle=MOODLE, full=False).mode == "full"  # never fetched
