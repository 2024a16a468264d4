"""Shared fixtures: databases (SQLite always, PostgreSQL in CI), recordings, the demo world."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from intensive_tracker.cli import cli
from intensive_tracker.i18n import set_language
from intensive_tracker.store.engine import make_engine
from intensive_tracker.store.schema import ensure_schema

# The suite pins Russian, the default, whatever the runner's locale; tests of English ask for it (--lang en).
for _name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"

FIXTURES = Path(__file__).parent / "fixtures"
RECORDINGS = FIXTURES / "moodle"
PG_ADMIN_URL = os.environ.get("INTENSIVE_TRACKER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _russian() -> Iterator[None]:
    """Each test starts in Russian; a CLI call with --lang en in one test does not leak into the next."""
    set_language("ru")
    yield
    set_language("ru")


def _postgres_wanted() -> bool:
    return os.environ.get("CI", "").lower() == "true" or bool(os.environ.get("INTENSIVE_TRACKER_TEST_PG"))


def recording(name: str) -> dict[str, Any]:
    """A recorded Moodle exchange by file name (with or without .json)."""
    path = RECORDINGS / (name if name.endswith(".json") else name + ".json")
    return json.loads(path.read_text("utf-8"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str | None]:
    """A throw-away PostgreSQL database for this test session, or None when not wanted."""
    if not _postgres_wanted():
        yield None
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"it_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # in CI an unreachable PostgreSQL is a failure, not a skip
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required here (CI=true) but unreachable: {e}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, postgres_server: str | None) -> str:
    """A fresh empty database URL: SQLite, and PostgreSQL when CI=true."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    if postgres_server is None:
        pytest.skip("PostgreSQL runs with CI=true or INTENSIVE_TRACKER_TEST_PG=<admin url>")
    _reset_postgres(postgres_server)
    return postgres_server


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh database with the schema in place."""
    engine = make_engine(db_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`intensive-tracker demo` once per test session; the folder of its report."""
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["--quiet", "demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "report"
