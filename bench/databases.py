"""The databases a benchmark run writes: a fresh SQLite file, and a throw-away PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from intensive_tracker.store.engine import make_engine


@dataclass
class Database:
    """One database of the run; `reset()` empties it before each measured full sync."""

    name: str
    url: str
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def reset(self) -> None:
        self.dispose()
        if self.name == "sqlite":
            path = Path(self.url[len("sqlite:///") :])
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        admin = create_engine(_driver(self.url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        admin.dispose()


def _driver(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


def postgres_version(admin_url: str) -> str | None:
    try:
        engine = create_engine(_driver(admin_url), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
        return str(version)
    except Exception:
        return None


@contextmanager
def open_databases(names: list[str], work: Path, pg_url: str, notes: list[str]) -> Iterator[list[Database]]:
    """The requested databases; PostgreSQL only when reachable (else a note), dropped at the end."""
    dbs: list[Database] = []
    admin: Engine | None = None
    pg_name = f"it_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    if "sqlite" in names:
        path = (work / "sqlite" / "tracker.db").resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        dbs.append(Database("sqlite", f"sqlite:///{path}"))
    if "postgresql" in names:
        try:
            admin = create_engine(_driver(pg_url), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
            dbs.append(Database("postgresql", _driver(pg_url).rsplit("/", 1)[0] + "/" + pg_name))
        except Exception as e:
            notes.append(f"PostgreSQL not measured: {pg_url.split('@')[-1]} unreachable ({type(e).__name__})")
            admin = None
    try:
        yield dbs
    finally:
        for db in dbs:
            db.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            admin.dispose()
