"""Schema migrations: an old database upgrades without losing a row, models equal migrations, no downgrade."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import MetaData, select, text
from sqlmodel import SQLModel

from intensive_tracker.cli import cli
from intensive_tracker.errors import ConfigError
from intensive_tracker.store import models as m  # noqa: F401  (registers every table)
from intensive_tracker.store.engine import make_engine
from intensive_tracker.store.schema import _alembic_config, ensure_schema, schema_heads

NOW = datetime(2024, 1, 24, 12, 0, tzinfo=UTC)
# One row per table of the first schema (0001), foreign keys consistent.
FIRST_RELEASE_ROWS: list[tuple[str, dict[str, Any]]] = [
    ("district", {"id": 1, "name": "Балашиха", "kind": "territorial", "merged_into": None, "merged_on": None}),
    (
        "district",
        {
            "id": 2,
            "name": "Железнодорожный",
            "kind": "territorial",
            "merged_into": "Балашиха",
            "merged_on": date(2015, 1, 1),
        },
    ),
    ("program", {"id": 1, "key": "ku", "title": "Конструирование урока", "full_title": None}),
    (
        "cohort",
        {
            "id": 1,
            "key": "KU-2023-H1",
            "program_id": 1,
            "source": "moodle",
            "title": "КУ",
            "course_id": 7,
            "group_id": None,
            "school_year": "2023/24",
            "term": 1,
        },
    ),
    (
        "participant",
        {
            "id": 1,
            "email_key": "a@b.ru",
            "full_name": "Ёлкина Анна",
            "name_key": "елкина анна",
            "district_raw": "г.о. Балашиха",
            "district_id": 1,
            "school": "МБОУ СОШ № 1",
            "position": "учитель",
            "category": "молодой педагог",
        },
    ),
    (
        "account",
        {
            "id": 1,
            "source": "moodle",
            "external_id": "101",
            "participant_id": 1,
            "link_reason": "new",
            "full_name": "Ёлкина Анна",
            "email": "a@b.ru",
            "district_raw": "г.о. Балашиха",
            "school": None,
            "position": None,
            "category": None,
            "suspended": False,
        },
    ),
    (
        "enrolment",
        {"id": 1, "cohort_id": 1, "account_id": 1, "participant_id": 1, "status": "active", "missing_since": NOW},
    ),
    (
        "session",
        {
            "id": 1,
            "cohort_id": 1,
            "source_key": "att3:12",
            "starts_at": NOW,
            "duration_s": 5400,
            "topic": "Целеполагание",
            "speaker": None,
            "taken": True,
            "missing_since": None,
        },
    ),
    (
        "attendance",
        {
            "id": 1,
            "session_id": 1,
            "participant_id": 1,
            "account_id": 1,
            "status": "П",
            "status_label": "Присутствовал",
            "present": True,
        },
    ),
    (
        "defense",
        {
            "id": 1,
            "cohort_id": 1,
            "participant_id": 1,
            "account_id": 1,
            "outcome": "passed",
            "grade": 8.0,
            "graded_at": NOW,
            "attempt": 0,
        },
    ),
    ("sync_cursor", {"id": 1, "source": "moodle", "key": "grades:KU-2023-H1:5", "value": "1706097600"}),
    (
        "sync_run",
        {
            "id": 1,
            "started_at": NOW,
            "finished_at": NOW,
            "status": "ok",
            "trigger": "manual",
            "counts": {"attendance": {"inserted": 1}},
            "warnings": [],
            "errors": [],
        },
    ),
]


def _rows(engine: Any, metadata: MetaData, tables: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of `tables`, only the columns `metadata` knows: later releases may add columns, never lose data."""
    with engine.connect() as connection:
        return {
            name: [tuple(r) for r in connection.execute(select(metadata.tables[name]).order_by(text("id")))]
            for name in tables
        }


def test_database_of_the_first_release_upgrades_without_losing_a_row(db_url: str) -> None:
    """A 0001 database, filled, upgraded to this release's heads: every row of every old table is intact."""
    engine = make_engine(db_url)
    command.upgrade(_alembic_config(engine), "0001")
    metadata = MetaData()
    metadata.reflect(engine)
    old_tables = sorted(t for t in metadata.tables if t != "alembic_version")
    assert {name for name, _ in FIRST_RELEASE_ROWS} == set(old_tables)
    with engine.begin() as connection:
        for name, row in FIRST_RELEASE_ROWS:
            connection.execute(metadata.tables[name].insert().values(**row))
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for name in old_tables:
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), 10)"))
    before = _rows(engine, metadata, old_tables)
    assert schema_heads(engine)[0] == {"0001"}

    ensure_schema(engine)  # what sync, report and the daemon do on start

    current, heads = schema_heads(engine)
    assert current == heads and "0006_ops" in heads
    assert _rows(engine, metadata, old_tables) == before
    engine.dispose()


def test_models_match_the_migrations(engine: Any) -> None:
    """Autogenerate finds no difference between the models and a database built by the migrations."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_a_database_from_a_newer_release_is_refused_not_downgraded(engine: Any) -> None:
    """An unknown newer revision stops every command with exit 78; the database is left as it was."""
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE alembic_version SET version_num = '9999_future' WHERE version_num = '0006_ops'")
        )
    with pytest.raises(ConfigError) as caught:
        ensure_schema(engine)
    assert caught.value.exit_code == 78 and "никогда не откатывает базу назад" in str(caught.value)
    assert "9999_future" in schema_heads(engine)[0]


def test_db_commands_show_and_bring_the_schema_up_to_date(tmp_path: Path) -> None:
    """`db current` exits 1 on a behind database; `db upgrade` upgrades, then says it is up to date."""
    config = tmp_path / "config.toml"
    config.write_text('database_url = "sqlite:///tracker.db"\n', "utf-8")
    runner = CliRunner()
    behind = runner.invoke(cli, ["--config", str(config), "db", "current"])
    assert behind.exit_code == 1 and "db upgrade" in behind.stderr
    first = runner.invoke(cli, ["--config", str(config), "db", "upgrade"])
    assert first.exit_code == 0 and "схема обновлена до" in first.stdout and "0006_ops" in first.stdout
    second = runner.invoke(cli, ["--config", str(config), "db", "upgrade"])
    assert second.exit_code == 0 and "схема актуальна" in second.stdout
    now = runner.invoke(cli, ["--config", str(config), "db", "current"])
    assert now.exit_code == 0 and "0006_ops" in now.stdout
