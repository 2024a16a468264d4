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


def test_bench_runs_at_a_tiny_factor(tmp_path: Path) -> None:
    """At factor 0.01 the bench passes its own checks and writes every documented JSON key."""
    results = tmp_path / "results"
    code = main(
        [
            "--factors",
            "0.01",
            "--reps",
            "1",
            "--report-reps",
            "1",
            "--db",
            "sqlite",
            "--per-call-ms",
            "1",
            "--per-user-ms",
            "0.1",
            "--per-mark-ms",
            "0.001",
            "--results",
            str(results),
            "--work",
            str(tmp_path / "work"),
        ]
    )
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
    code = main(
        [
            "--factors",
            "0.01",
            "--reps",
            "1",
            "--report-reps",
            "1",
            "--db",
            "sqlite",
            "--per-call-ms",
            "1",
            "--per-user-ms",
            "0.1",
            "--per-mark-ms",
            "0.001",
            "--results",
            str(tmp_path / "results"),
            "--work",
            str(tmp_path / "work"),
        ]
    )
    document = json.loads((tmp_path / "results" / "latest.json").read_text("utf-8"))
    assert code == 1
    assert any("attendance" in f for f in document["failures"])
