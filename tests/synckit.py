"""Shared pieces of the sync fault suite: a small stand-in Moodle, its config, and id-free snapshots.

The fault tests compare every faulty history with one clean run. Row ids are surrogate (PostgreSQL
does not give back sequence values a rolled-back batch drew), so `canonical_snapshot` replaces each
id and each foreign key by the content of the row it names: two databases compare equal iff they
hold the same facts.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

from connectors.base import ANSWERS_CURSOR
from connectors.demo import StandinMoodle, generate_demo_world
from connectors.demo.world import World
from intensive_tracker.app import open_connectors
from intensive_tracker.config import load_settings
from intensive_tracker.people.districts import load_registry
from intensive_tracker.store.engine import make_engine
from intensive_tracker.store.locks import sync_lock
from intensive_tracker.store.models import DATA_TABLES
from intensive_tracker.sync.engine import run_sync
from intensive_tracker.sync.state import SyncReport

TOKEN_ENV = "IT_FAULT_SUITE_TOKEN"
TOKEN = "f" * 32
# Small launches of both programs, with and without a defense: a full sync takes about a second.
COHORTS = [("KU-2021-H2", "ku", True), ("KU-2021-H1", "ku", True), ("SHN-2022-23", "shn", False)]
ROOT = Path(__file__).resolve().parent.parent
# In-process syncs read the token from the environment like the real command does.
os.environ[TOKEN_ENV] = TOKEN


# The two programs of the lab, as config lines every test config starts from.
PROGRAM_LINES = [
    "[[programs]]",
    'key = "ku"',
    'title = "Конструирование урока"',
    "",
    "[[programs]]",
    'key = "shn"',
    'title = "Школа наставничества"',
    "",
]


@functools.lru_cache(maxsize=1)
def demo_world() -> World:
    """The generated demo world, built once per test process (the stand-in only reads it)."""
    return generate_demo_world(2024)


def write_config(
    path: Path,
    *,
    db_url: str,
    moodle_url: str,
    page_size: int = 200,
    read_timeout: float = 10,
    retries: int = 2,
    extra: str = "",
    finished_after_days: int = 0,
) -> Path:
    """A config for the stand-in at `moodle_url`: tiny backoff, the three small cohorts."""
    lines = [
        f'database_url = "{db_url}"',
        'timezone = "Europe/Moscow"',
        "",
        "[moodle]",
        f'url = "{moodle_url}"',
        f'token_env = "{TOKEN_ENV}"',
        f"page_size = {page_size}",
        f"read_timeout = {read_timeout}",
        "connect_timeout = 2",
        f"retries = {retries}",
        "backoff = 0.01",
        # The demo world's years are long past: 0 keeps every cohort fetched fully (issue 17 tests set it).
        f"finished_after_days = {finished_after_days}",
        "",
        "[report]",
        'out_dir = "report"',
        "",
        *PROGRAM_LINES,
    ]
    for key, program, defense in COHORTS:
        lines += ["[[cohorts]]", f'key = "{key}"', f'program = "{program}"', f'course = "{key}"']
        if defense:
            lines += ['defense = "Защита методической разработки"', "pass_grade = 6"]
        lines.append("")
    path.write_text("\n".join(lines) + "\n" + extra, "utf-8")
    return path


def standin(world: World, **kwargs: Any) -> StandinMoodle:
    return StandinMoodle(world, token=TOKEN, **kwargs)


def course_id(world: World, shortname: str) -> int:
    return next(c.id for c in world.courses if c.shortname == shortname)


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("INTENSIVE_TRACKER_FAULT_AT", None)
    env.update({TOKEN_ENV: TOKEN, "PYTHONUNBUFFERED": "1", **extra})
    return env


def cli_args(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "intensive_tracker", "--config", str(config), *args]


def run_cli(config: Path, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """The real command in a child process (so that it can really die)."""
    return subprocess.run(
        cli_args(config, *args), env=cli_env(**env), cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


def first_mark(world: World, cohort_key: str) -> tuple[Any, Any, Any, int, int]:
    """The cohort's course, its first attendance activity and session, and that session's first mark (user, status)."""
    course = world.course(course_id(world, cohort_key))
    assert course is not None
    attendance = course.attendances[0]
    session = attendance.sessions[0]
    user, status = next(iter(session.log.items()))
    return course, attendance, session, user, status


def canonical_snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every data row with ids replaced by what they point at, sorted: equal iff the same facts."""
    metadata = MetaData()
    names = [model.__table__.name for model in DATA_TABLES]  # type: ignore[attr-defined]
    metadata.reflect(engine, only=names)
    raw: dict[str, dict[Any, dict[str, Any]]] = {}
    with engine.connect() as connection:
        for name in names:
            table = metadata.tables[name]
            raw[name] = {row._mapping["id"]: dict(row._mapping) for row in connection.execute(select(table))}
    fks = {name: {fk.parent.name: fk.column.table.name for fk in metadata.tables[name].foreign_keys} for name in names}
    memo: dict[tuple[str, Any], tuple[Any, ...]] = {}

    def content(name: str, row_id: Any) -> tuple[Any, ...]:
        if row_id is None:
            return ()
        key = (name, row_id)
        if key not in memo:
            row = raw[name][row_id]
            if name == "sync_cursor" and str(row["key"]).startswith(ANSWERS_CURSOR):
                # The digest also depends on how the answers were paged (page_size); the warnings are facts.
                row = row | {"value": json.loads(row["value"])["warnings"]}
            memo[key] = tuple(
                (col, content(fks[name][col], value) if col in fks[name] else _normal(value))
                for col, value in sorted(row.items())
                if col != "id"
            )
        return memo[key]

    return {name: sorted((content(name, rid) for rid in raw[name]), key=repr) for name in names}


def data_counts(engine: Engine) -> dict[str, int]:
    return {name: len(rows) for name, rows in canonical_snapshot(engine).items()}


def sync_in_process(config: Path, **kwargs: Any) -> SyncReport:
    """`sync` without the CLI: the engine, the connectors and run_sync as the command builds them."""
    settings = load_settings(config)
    engine = make_engine(
        settings.database_url,
        **({"busy_timeout_ms": kwargs.pop("busy_timeout_ms")} if "busy_timeout_ms" in kwargs else {}),
    )
    try:
        with open_connectors(settings) as connectors:
            return run_sync(engine, settings, load_registry(), connectors, **kwargs)
    finally:
        engine.dispose()


@functools.lru_cache(maxsize=1)
def clean_run() -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, dict[str, int]]]:
    """What one clean sync of the small cohorts leaves (canonical snapshot) and counts, on SQLite."""
    with tempfile.TemporaryDirectory() as tmp, standin(demo_world()) as moodle:
        config = write_config(Path(tmp) / "config.toml", db_url=f"sqlite:///{tmp}/clean.db", moodle_url=moodle.url)
        report = sync_in_process(config)
        assert report.status == "ok", report.errors
        engine = make_engine(f"sqlite:///{tmp}/clean.db")
        snapshot = canonical_snapshot(engine)
        engine.dispose()
    return snapshot, report.counts


@contextmanager
def lock_held_elsewhere(engine: Engine) -> Iterator[None]:
    """The sync lock held by another thread (standing in for another process) for the block's duration."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with sync_lock(engine):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        yield
    finally:
        release.set()
        holder.join()
