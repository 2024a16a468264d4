"""The demo's figures follow its data: another seed or other targets give other figures, each recounted here."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connectors.demo import generate
from connectors.demo import world as demo
from connectors.demo.playground import write_demo_config
from intensive_tracker.cli import cli

PASS_GRADE = 6  # the playground's pass_grade


def _school_year(unix: int) -> str:
    day = datetime.fromtimestamp(unix, demo.MSK)
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def recount(world: demo.World) -> dict[str, Any]:
    """The KU figures per school year straight from the generated Moodle records, without the tracker."""
    attendances: Counter[str] = Counter()
    attendees: defaultdict[str, set[int]] = defaultdict(set)
    passed: Counter[str] = Counter()
    for course in world.courses:
        if not course.shortname.startswith("KU-"):
            continue
        for attendance in course.attendances:
            present = {s.id for s in attendance.statuses if s.acronym in ("П", "О")}  # present or late
            for session in attendance.sessions:
                year = _school_year(session.sessdate)
                users = [user for user, status in session.log.items() if status in present]
                attendances[year] += len(users)
                attendees[year].update(users)
        for assignment in course.assignments:
            for row in assignment.grades:
                if row.grade >= PASS_GRADE:
                    passed[_school_year(row.timemodified)] += 1
    return {
        "attendances": dict(attendances),
        "unique": {y: len(u) for y, u in attendees.items()},
        "passed": dict(passed),
    }


def reported(summary: dict[str, Any]) -> dict[str, Any]:
    """The same figures as summary.json gives them."""
    ku = next(p for p in summary["programs"] if p["key"] == "ku")
    return {
        "attendances": {y["school_year"]: y["attendances"] for y in ku["years"]},
        "unique": {y["school_year"]: y["unique_participants"] for y in ku["years"]},
        "passed": ku["defenses_passed"]["by_school_year"],
    }


def _summary_of_playground(tmp_path: Path, seed: int) -> dict[str, Any]:
    """Sync the demo playground for `seed` and render its report; summary.json."""
    config = write_demo_config(tmp_path, seed=seed)
    for args in (["sync"], ["report", "--out", str(tmp_path / "site")]):
        result = CliRunner().invoke(cli, ["--quiet", "--config", str(config), *args])
        assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads((tmp_path / "site" / "summary.json").read_text("utf-8"))
    return summary


def test_the_recount_reproduces_the_reference_year() -> None:
    """The independent recount agrees with the reference 2023/24 figures on the default seed."""
    figures = recount(generate.generate_demo_world(2024))
    assert figures["attendances"]["2023/24"] == 1950 and figures["passed"]["2023/24"] == 316


def test_another_seed_gives_other_figures_that_match_its_records(tmp_path: Path) -> None:
    """Seed 7's summary.json differs from seed 2024's generated years and equals the recount of seed 7's world."""
    expected = recount(generate.generate_demo_world(7))
    default = recount(generate.generate_demo_world(2024))
    assert expected["attendances"]["2020/21"] != default["attendances"]["2020/21"]
    assert expected["unique"] != default["unique"]
    assert reported(_summary_of_playground(tmp_path, seed=7)) == expected


def test_other_targets_give_other_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With fewer present at KU-2023-H1's first session and fewer passes, 2023/24 follows, not 1950 and 316."""
    launches = [
        (name, days, [300, *(counts or [])[1:]], passed - 6, *rest)
        if name == "KU-2023-H1"
        else (name, days, counts, passed, *rest)
        for name, days, counts, passed, *rest in generate.KU_LAUNCHES
    ]
    monkeypatch.setattr(generate, "KU_LAUNCHES", launches)
    expected = recount(generate.generate_demo_world(2024))
    assert expected["attendances"]["2023/24"] == 1950 - 55 and expected["passed"]["2023/24"] == 316 - 6
    assert reported(_summary_of_playground(tmp_path, seed=2024)) == expected
