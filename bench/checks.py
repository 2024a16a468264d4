"""Is what the benchmark measured right? Counts and figures against the generator's ground truth."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bench.generator import Truth
from intensive_tracker.store.models import DATA_TABLES


def report_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """summary.json (schema 1) → the shape of `Truth.figures`."""
    figures: dict[str, Any] = {}
    for program in summary["programs"]:
        years = {}
        for y in program["years"]:
            years[y["school_year"]] = {
                "sessions_present": sorted(s["present"] for s in y["sessions"]),
                "attendances": y["attendances"],
                "unique_participants": y["unique_participants"],
                "defenses_passed": y["defenses_passed"],
                "by_district": {
                    d["district"]: [d["participants"], d["attendances"], d["defenses_passed"]] for d in y["by_district"]
                },
            }
        passed = program["defenses_passed"]
        figures[program["key"]] = {
            "years": years,
            "defenses_by_calendar_year": passed["by_calendar_year"],
            "defenses_by_half_year": passed["by_half_year"],
            "defenses_by_school_year": passed["by_school_year"],
        }
    return figures


def compare_figures(what: str, got: dict[str, Any], truth: dict[str, Any]) -> list[str]:
    """Every difference between two figure trees, named by its path (empty when equal)."""
    problems: list[str] = []

    def walk(path: str, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                if key not in a:
                    problems.append(f"{what}: {path}/{key} missing (expected {b[key]!r:.80})")
                elif key not in b:
                    problems.append(f"{what}: {path}/{key} unexpected ({a[key]!r:.80})")
                else:
                    walk(f"{path}/{key}", a[key], b[key])
        elif a != b:
            problems.append(f"{what}: {path} is {a!r:.80}, expected {b!r:.80}")

    walk("", got, truth)
    return problems[:20]


def sync_counts_problems(counts: dict[str, dict[str, int]], truth: Truth) -> list[str]:
    """A first sync into an empty database inserts exactly the generator's rows."""
    expected = {
        "participants": truth.participants,
        "accounts": truth.participants,
        "enrolments": truth.enrolments,
        "sessions": truth.sessions,
        "attendance": truth.marks,
        "defenses": truth.defenses,
    }
    return [
        f"sync inserted {counts[e]['inserted']} {e}, the region has {n}"
        for e, n in expected.items()
        if counts[e]["inserted"] != n
    ]


def data_digest(engine: Engine) -> str:
    """A hash of every synced row, streamed: equal before and after a run iff it wrote nothing."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for model in DATA_TABLES:
            table = model.__table__  # type: ignore[attr-defined]
            result = conn.execution_options(yield_per=5000).execute(select(table).order_by(*table.primary_key.columns))
            for row in result:
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()
