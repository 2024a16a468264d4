"""summary.json keeps every documented v1 key and adds the site's figures."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from intensive_tracker.people.districts import load_registry
from intensive_tracker.reports.figures import build_summary
from intensive_tracker.reports.summary import summary_json
from tests import report_data

MSK = ZoneInfo("Europe/Moscow")
V1_TOP = {"schema_version", "generated_at", "timezone", "last_sync", "last_sync_status", "programs"}
V1_PROGRAM = {
    "key",
    "title",
    "full_title",
    "school_year",
    "sessions",
    "sessions_planned",
    "attendances",
    "unique_participants",
    "defenses_passed",
    "years",
}
V1_YEAR = {
    "school_year",
    "sessions",
    "sessions_planned",
    "sessions_held",
    "attendances",
    "unique_participants",
    "defenses_passed",
    "districts_with_defenses",
    "districts_reached",
    "districts_not_reached",
    "by_district",
}


def test_v1_keys_kept_and_new_figures_added(engine: Engine) -> None:
    """Every README key of schema 1 is still there; outcomes, visits, launches, funnel and freshness are added."""
    report_data.load(engine)
    doc = summary_json(build_summary(engine, load_registry(), tz=MSK, now=datetime(2024, 2, 1, tzinfo=MSK)))
    assert doc["schema_version"] == 1 and V1_TOP <= set(doc)
    assert doc["last_successful_sync"] is not None and doc["freshness_warnings"] == []
    (ku,) = doc["programs"]
    assert V1_PROGRAM <= set(ku)
    year = ku["years"][-1]
    assert V1_YEAR <= set(year)
    assert set(year["by_district"][0]) >= {
        "district",
        "participants",
        "attendances",
        "defenses_passed",
        "defended_share",
        "page",
    }
    assert year["page"] == "ku-2023-24.html"
    assert year["visits"] == {"1": 3, "2": 0, "3": 1, "4": 0}
    assert year["defenses"] == {"passed": 2, "failed": 1, "pending": 1}
    assert year["funnel"] == {"registered": None, "attended": 4, "defended": 2}
    assert [x["cohort"] for x in year["launches"]] == ["KU-H1", "KU-H2"]
    assert ku["defenses"]["by_half_year"]["2024-H1"] == {"passed": 1, "failed": 0, "pending": 1}
    assert ku["half_year_labels"] == {"2023-H2": "2023 (2 полугодие)", "2024-H1": "2024 (1 полугодие)"}
    assert ku["participation_terms"] == [
        {"label": "2023", "defenses_passed": 1},
        {"label": "2024 (1 полугодие)", "defenses_passed": 1},
    ]
