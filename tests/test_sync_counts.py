"""Sync counts mean what they say: a participant created in a run is «new» only; a re-run counts them unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from intensive_tracker.cli import cli
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import make_engine
from tests.synckit import data_counts, demo_world, standin, sync_in_process, write_config


def test_a_first_sync_counts_each_participant_once_as_new(tmp_path: Path, db_url: str, engine: Any) -> None:
    """Into an empty database every participant is new, none «changed», and the new count is the table's size."""
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        first = sync_in_process(config)
        people = data_counts(make_engine(db_url))[m.Participant.__tablename__]  # type: ignore[attr-defined]
        assert first.counts["participants"] == {"inserted": people, "updated": 0, "unchanged": 0}
        second = sync_in_process(config, full=True)  # compares everyone (a plain one skips unchanged answers)
    assert second.counts["participants"] == {"inserted": 0, "updated": 0, "unchanged": people}


def test_the_sync_summary_names_entities_in_russian(tmp_path: Path, db_url: str, engine: Any) -> None:
    """`sync` prints «участники: +N новых, 0 изменено, 0 без изменений», never the English entity keys."""
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        result = CliRunner().invoke(cli, ["--config", str(config), "sync"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    (people,) = [line for line in lines if line.strip().startswith("участники:")]
    assert people.endswith("0 изменено, 0 без изменений") and "+0 " not in people
    for word in ("participants", "accounts", "enrolments", "sessions", "attendance", "defenses"):
        assert word not in result.stdout
