"""The walking skeleton end to end: stand-in Moodle → real connector → database → report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from intensive_tracker.cli import cli
from intensive_tracker.store.engine import make_engine, table_snapshot
from intensive_tracker.store.models import DATA_TABLES

KU_2023_24 = [355, 116, 226, 113, 159, 101, 288, 83, 140, 211, 106, 52]
SHN_2023_24 = [99, 167, 72, 137, 75, 51, 196, 137]
ABSENT = [
    "Бронницы",
    "Власиха",
    "Восход",
    "Дзержинский",
    "Долгопрудный",
    "Егорьевск",
    "Истра",
    "Клин",
    "Красногорск",
    "Лосино-Петровский",
    "Лотошино",
    "Луховицы",
    "Лыткарино",
    "Молодежный",
    "Протвино",
    "Реутов",
    "Рузский",
    "Ступино",
    "Фрязино",
    "Химки",
    "Электросталь",
]


def _playground(tmp_path: Path, db_url: str) -> Path:
    """The demo's config, pointed at the database under test."""
    from connectors.demo.playground import write_demo_config

    config = write_demo_config(tmp_path)
    text = config.read_text("utf-8").replace('database_url = "sqlite:///tracker.db"', f'database_url = "{db_url}"')
    config.write_text(text, "utf-8")
    return config


@pytest.fixture
def synced(tmp_path: Path, db_url: str) -> tuple[Path, str]:
    config = _playground(tmp_path, db_url)
    result = CliRunner().invoke(cli, ["--config", str(config), "sync"])
    assert result.exit_code == 0, result.output
    return config, db_url


def test_demo_command_prints_index_and_leaves_a_playground(tmp_path: Path) -> None:
    """`demo --out DIR` prints index.html's path and leaves config, database and report in DIR."""
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    index = Path(result.stdout.strip().splitlines()[-1])
    assert index == (out / "report" / "index.html").resolve() and index.is_file()
    assert (out / "config.toml").is_file() and (out / "tracker.db").is_file()
    again = CliRunner().invoke(cli, ["--config", str(out / "config.toml"), "report"])
    assert again.exit_code == 0, again.output


def test_report_reproduces_the_2023_24_figures_from_records(synced: tuple[Path, str], tmp_path: Path) -> None:
    """summary.json holds the seed's figures, computed from what the sync stored."""
    config, _ = synced
    result = CliRunner().invoke(cli, ["--config", str(config), "report", "--out", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "site" / "summary.json").read_text("utf-8"))
    ku, shn = summary["programs"]
    assert ku["key"] == "ku" and ku["school_year"] == "2023/24"
    assert [s["present"] for s in ku["sessions"]] == KU_2023_24
    assert ku["sessions"][0]["date"] == "2023-09-20"
    assert ku["attendances"] == 1950 == sum(KU_2023_24)
    assert ku["unique_participants"] < 1950
    passed = ku["defenses_passed"]
    assert {k: passed["by_calendar_year"][k] for k in ("2021", "2022", "2023")} == {"2021": 34, "2022": 75, "2023": 286}
    assert passed["by_half_year"]["2024-H1"] == 160
    assert passed["by_school_year"]["2023/24"] == 316
    year = ku["years"][-1]
    assert year["districts_with_defenses"] == 39
    assert year["districts_not_reached"] == ABSENT
    assert [s["present"] for s in shn["sessions"]] == SHN_2023_24
    assert shn["sessions"][0]["speaker"] == "Карпеева И.В."
    assert [s["taken"] for s in shn["sessions_planned"]] == [False]
    html = (tmp_path / "site" / "index.html").read_text("utf-8")
    assert "20.09.23" in html and "355" in html


def test_second_sync_changes_nothing(synced: tuple[Path, str]) -> None:
    """A re-sync over an unchanged Moodle writes no row and says so."""
    config, db_url = synced
    engine = make_engine(db_url)
    before = table_snapshot(engine, DATA_TABLES)
    result = CliRunner().invoke(cli, ["--config", str(config), "sync"])
    assert result.exit_code == 0, result.output
    assert "Изменений нет" in result.output
    assert table_snapshot(engine, DATA_TABLES) == before
    engine.dispose()
