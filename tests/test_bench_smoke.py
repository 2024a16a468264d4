"""Smoke test of the region benchmark (bench/): a tiny region end to end, SQLite only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.generator import generate_region
from bench.run import main

REQUIRED_KEYS = {
    "factor",
    "db",
    "sync_s",
    "fetch_floor_s",
    "sync_vs_fetch_floor",
    "requests",
    "requests_bound",
    "noop_rows_written",
    "noop_requests",
    "report_s",
    "query_floor_s",
    "report_vs_query_floor",
    "report_peak_mb",
    "email_preview_s",
}


def test_generator_is_deterministic_and_counts_add_up() -> None:
    """The same factor and seed give the same region; its truth counts match the world."""
    a, b = generate_region(0.01), generate_region(0.01)
    assert a.truth == b.truth
    assert a.truth.participants == 200
    assert a.truth.marks == sum(len(s.log) for c in a.world.courses for x in c.attendances for s in x.sessions)
    assert a.truth.requests_bound == sum(a.truth.bound_terms.values())


def _tiny_run(tmp_path: Path) -> list[str]:
    """The bench at factor 0.01 on SQLite, one repetition, a fast cost model, results in tmp_path/results."""
    return [
        *("--factors", "0.01", "--reps", "1", "--report-reps", "1", "--db", "sqlite"),
        *("--per-call-ms", "1", "--per-user-ms", "0.1", "--per-mark-ms", "0.001"),
        *("--results", str(tmp_path / "results"), "--work", str(tmp_path / "work")),
    ]


def test_bench_runs_at_a_tiny_factor(tmp_path: Path) -> None:
    """At factor 0.01 the bench passes its own checks and writes every documented JSON key."""
    results = tmp_path / "results"
    code = main(_tiny_run(tmp_path))
    document = json.loads((results / "latest.json").read_text("utf-8"))
    assert code == 0, document["failures"]
    assert document["checks_passed"] is True
    [run] = document["runs"]
    assert REQUIRED_KEYS <= set(run)
    assert run["requests"] == run["requests_bound"]
    assert run["noop_rows_written"] == 0
    assert "| 0.01 | sqlite |" in (results / "latest.md").read_text("utf-8")


def test_bench_exits_non_zero_when_a_figure_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong ground truth makes the bench report the failure and exit 1."""
    import bench.run as run_module

    real = run_module.generate_region

    def skewed(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        region = real(*args, **kwargs)  # type: ignore[arg-type]
        region.truth.marks += 1
        return region

    monkeypatch.setattr(run_module, "generate_region", skewed)
    code = main(_tiny_run(tmp_path))
    document = json.loads((tmp_path / "results" / "latest.json").read_text("utf-8"))
    assert code == 1
    assert any("attendance" in f for f in document["failures"])


def test_the_region_has_four_finished_school_years_and_an_active_one() -> None:
    """Issue 17: at factor 1 the nightly clock leaves the 2024/25 cohorts active and 4 older years finished."""
    from datetime import UTC, datetime

    from bench.passes import active_year_days, nightly_clock
    from intensive_tracker.periods import local_date, school_year_of

    region = generate_region(1)
    clock = nightly_clock(region.world)
    days = active_year_days(region.world, clock)
    years = {}
    for course in region.world.courses:
        last = max(s.sessdate for a in course.attendances for s in a.sessions)
        first = min(s.sessdate for a in course.attendances for s in a.sessions)
        year = school_year_of(local_date(datetime.fromtimestamp(first, UTC)))
        active = (clock - datetime.fromtimestamp(last, UTC)).days < days
        years.setdefault(year, set()).add(active)
    assert len(years) == 5
    assert [years[y] for y in sorted(years)] == [{False}] * 4 + [{True}]


def test_above_full_max_factor_only_the_zero_cost_passes_run(tmp_path: Path) -> None:
    """`--full-max-factor`: the larger factor gets the zero-cost keys (and no cost-model ones); the table renders."""
    results = tmp_path / "results"
    code = main(
        [
            *("--factors", "0.01,0.02", "--reps", "1", "--report-reps", "1", "--db", "sqlite"),
            *("--full-max-factor", "0.01", "--per-call-ms", "1", "--per-user-ms", "0.1", "--per-mark-ms", "0.001"),
            *("--results", str(results), "--work", str(tmp_path / "work")),
        ]
    )
    document = json.loads((results / "latest.json").read_text("utf-8"))
    assert code == 0, document["failures"]
    full, zero = document["runs"]
    assert REQUIRED_KEYS <= set(full) and "nightly_requests_share" in full
    assert zero["passes"] == "zero-cost only" and "sync_s" not in zero
    assert {"zero_cost_sync_s", "zero_cost_noop_s", "zero_cost_vs_floor", "zero_cost_noop_vs_fetch", "profile"} <= set(
        zero
    )
    table = (results / "latest.md").read_text("utf-8")
    assert "| 0.02 | sqlite |" in table and "only the zero-cost passes" in table
