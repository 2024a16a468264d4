"""The engine (SQLite pragmas, PostgreSQL), explicit transactions, and the database's name for people."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from intensive_tracker.errors import ConfigError
from intensive_tracker.files import create_private
from intensive_tracker.i18n import _
from intensive_tracker.redact import register_secret
from intensive_tracker.store.errors import translate

SQLITE_BUSY_TIMEOUT_MS = 30_000
# SQLite's page cache per connection, KiB (its default is 2 MiB). A sync writes into indexes larger than that; with
# 2 MiB every insert re-read its index pages from the file (issue 17: 401,576 marks 4.0 s, with 64 MiB 1.9 s).
SQLITE_CACHE_KIB = 65_536


def make_engine(url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for SQLite (WAL, busy timeout, foreign keys) or PostgreSQL (psycopg 3).

    `busy_timeout_ms` is how long a write waits for another writer's lock before failing: SQLite's
    busy_timeout, PostgreSQL's lock_timeout (RELIABILITY.md F8).
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if path and not path.startswith(":memory:") and not path.startswith("file:"):
            # Created 0600 (0640 with [files] group) before the driver opens it: SQLite would create it
            # per the umask, usually world-readable; its -wal, -shm and -journal files take this mode.
            create_private(Path(path))
    try:
        is_postgres = url.startswith("postgresql")
        engine = create_engine(
            url, connect_args={"options": f"-c lock_timeout={busy_timeout_ms}"} if is_postgres else {}
        )
    except Exception as e:  # unknown dialect, missing driver, malformed URL
        raise ConfigError(_("database_url: не подходит: {kind}: {error}", kind=type(e).__name__, error=e)) from None
    register_secret(engine.url.password if isinstance(engine.url.password, str) else None)
    # Unreachable or corrupt databases become one-line errors (69, 65) for every command (issue 12).
    event.listen(engine, "handle_error", translate)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, busy_timeout_ms=busy_timeout_ms))
        event.listen(engine, "begin", _sqlite_begin_immediate)
    elif engine.dialect.name != "postgresql":
        raise ConfigError(
            _(
                "database_url: {dialect} не поддерживается (используйте sqlite или postgresql)",
                dialect=engine.dialect.name,
            )
        )
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    # Autocommit at the driver level so that `begin` below controls transactions itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # A read transaction that later upgrades to a write can fail with SQLITE_BUSY despite
    # busy_timeout (RELIABILITY.md §4); taking the write lock up front avoids it.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back if it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def table_snapshot(engine: Engine, models: Iterable[type[SQLModel]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the given tables, ordered: two snapshots compare equal iff nothing changed."""
    snapshot = {}
    with engine.connect() as connection:
        for model in models:
            table = model.__table__  # type: ignore[attr-defined]
            rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
            snapshot[table.name] = [tuple(r) for r in rows]
    return snapshot


def has_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())
