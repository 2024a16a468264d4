"""District history in reports: a merged district counts under its own name before the merge, the absorber after."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from intensive_tracker.cli import cli
from intensive_tracker.people.districts import registry_from_settings
from intensive_tracker.reports.figures import build_summary
from intensive_tracker.reports.roster import rosters
from intensive_tracker.store import models as m
from intensive_tracker.text import UNASSIGNED
from tests.people_factories import BASE_CONFIG, batch, person, settings, sync

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2024, 6, 1, tzinfo=MOSCOW)


def _history(engine: Engine) -> None:
    """Ивантеевка (merged into Пушкинский on 01.01.2020): one person attends in 2019/20 and in 2020/21."""
    people = [
        person(1, "Иванова Анна", "г.о. Ивантеевка"),
        person(2, "Петров Пётр", "Пушкинский"),
        person(3, "Сидорова Ольга", "Ивантеевка город"),
    ]
    sync(
        engine,
        settings(),
        [
            batch(
                "KU-2019",
                people,
                school_year="2019/20",
                sessions=[("a", "2019-10-02 12:00", True)],
                present={"a": [1, 2]},
                defenses={3: "passed"},
                graded="2019-12-20 10:00",
            ),
            batch(
                "KU-2020",
                people,
                school_year="2020/21",
                sessions=[("b", "2020-10-07 12:00", True)],
                present={"b": [1, 2]},
            ),
        ],
    )


def test_summary_reports_a_merged_district_under_the_name_of_each_period(engine: Engine) -> None:
    """2019/20 counts Ивантеевка on its own; 2020/21 counts the same person under Пушкинский."""
    _history(engine)
    summary = build_summary(engine, registry_from_settings(settings()), tz=MOSCOW, now=NOW)
    years = {y.school_year: y for y in summary.programs[0].years}
    before = {d.district: (d.participants, d.defenses_passed) for d in years["2019/20"].districts}
    after = {d.district: (d.participants, d.defenses_passed) for d in years["2020/21"].districts}
    assert before == {"Ивантеевка": (2, 1), "Пушкинский": (1, 0)}
    assert after == {"Пушкинский": (2, 0)}
    assert "Ивантеевка" not in years["2019/20"].districts_not_reached
    assert "Ивантеевка" not in years["2020/21"].districts_not_reached + years["2020/21"].districts_reached


def test_roster_follows_the_same_history(engine: Engine) -> None:
    """The district rosters (pages and emails) put a person under the district of the period."""
    _history(engine)
    registry = registry_from_settings(settings())
    before = rosters(engine, registry, program_key="ku", school_year="2019/20")
    after = rosters(engine, registry, program_key="ku", school_year="2020/21")
    assert sorted(r.full_name for r in before["Ивантеевка"].rows) == ["Иванова Анна", "Сидорова Ольга"]
    assert [r.full_name for r in after["Пушкинский"].rows] == ["Иванова Анна", "Петров Пётр"]
    assert "Ивантеевка" not in after and UNASSIGNED not in before


def test_alias_in_config_fixes_an_unknown_spelling_at_the_next_report(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """An unknown spelling is «не распределён» and listed; adding the alias fixes it on `report`, no re-sync."""
    sync(
        engine,
        settings(),
        [
            batch(
                "KU-1",
                [person(1, "Иванова Анна", "Балашихаа"), person(2, "Петров", "Химки")],
                sessions=[("s", "2023-10-04 12:00", True)],
                present={"s": [1, 2]},
            )
        ],
    )
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{db_url}"\n' + BASE_CONFIG, "utf-8")
    out = tmp_path / "site"

    def report() -> tuple[dict, dict]:  # type: ignore[type-arg]
        result = CliRunner().invoke(cli, ["--config", str(config), "report", "--out", str(out)])
        assert result.exit_code == 0, result.output
        return (
            json.loads((out / "summary.json").read_text("utf-8")),
            json.loads((out / "quality.json").read_text("utf-8")),
        )

    summary, quality = report()
    by_district = {d["district"]: d["participants"] for d in summary["programs"][0]["years"][0]["by_district"]}
    assert by_district == {"Химки": 1, UNASSIGNED: 1}
    [unknown] = [i for i in quality["items"] if i["kind"] == "unknown_district"]
    assert unknown["spelling"] == "Балашихаа" and unknown["suggestion"] == "Балашиха"
    assert unknown["fix"] == '[districts.aliases] "Балашихаа" = "Балашиха"'
    assert unknown["examples"][0]["full_name"] == "Иванова Анна"

    with config.open("a", encoding="utf-8") as f:
        f.write('\n[districts.aliases]\n"Балашихаа" = "Балашиха"\n')
    summary, quality = report()
    by_district = {d["district"]: d["participants"] for d in summary["programs"][0]["years"][0]["by_district"]}
    assert by_district == {"Балашиха": 1, "Химки": 1}
    assert not [i for i in quality["items"] if i["kind"] == "unknown_district"]
    assert quality["unassigned_people"] == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.SyncRun)).scalar_one() == 1  # no re-sync
        district = conn.execute(
            select(m.District.name)
            .join(m.Participant, m.Participant.district_id == m.District.id)
            .where(m.Participant.full_name == "Иванова Анна")
        ).scalar_one()
    assert district == "Балашиха"
