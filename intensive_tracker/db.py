"""Engine, transactions, schema migrations and the change-aware upsert every sync writes through."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import ARRAY, and_, any_, bindparam, event, func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine

from intensive_tracker.errors import ConfigError, TrackerError

SQLITE_BUSY_TIMEOUT_MS = 30_000
_CHUNK = 500


def make_engine(url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for SQLite (WAL, busy timeout, foreign keys) or PostgreSQL (psycopg 3).

    `busy_timeout_ms` is how long a write waits for another writer's lock before failing: SQLite's
    busy_timeout, PostgreSQL's lock_timeout (RELIABILITY.md F8).
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and not path.startswith(":memory:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        is_postgres = url.startswith("postgresql")
        engine = create_engine(url, connect_args={"options": f"-c lock_timeout={busy_timeout_ms}"} if is_postgres else {})
    except Exception as e:  # unknown dialect, missing driver, malformed URL
        raise ConfigError(f"database_url: cannot use it: {type(e).__name__}: {e}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, busy_timeout_ms=busy_timeout_ms))
        event.listen(engine, "begin", _sqlite_begin_immediate)
    elif engine.dialect.name != "postgresql":
        raise ConfigError(f"database_url: {engine.dialect.name} is not supported (use sqlite or postgresql)")
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    # Autocommit at the driver level so that `begin` below controls transactions itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
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


def database_label(engine: Engine) -> str:
    """The database named for a person: its file or host, never a password."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"SQLite {url.database or ':memory:'}"
    return f"PostgreSQL {url.host or 'localhost'}:{url.port or 5432}/{url.database}"


# --- migrations --------------------------------------------------------------------------------

def _alembic_config(engine: Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    ini = resources.files("intensive_tracker") / "alembic.ini"
    config = Config(str(ini))
    config.set_main_option("script_location", "intensive_tracker:migrations")
    config.attributes["engine"] = engine
    return config


def schema_heads(engine: Engine) -> tuple[set[str], set[str]]:
    """(revisions the database is at, revisions this release knows as heads)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(engine))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current, set(script.get_heads())


def upgrade(engine: Engine) -> list[str]:
    """Bring the schema to this release's head; refuse a database made by a newer release."""
    from alembic import command
    from alembic.script import ScriptDirectory

    config = _alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    known = {rev.revision for rev in script.walk_revisions()}
    try:
        current, heads = schema_heads(engine)
    except OperationalError as e:
        from intensive_tracker.locks import database_busy

        busy = database_busy(engine, e)  # another writer holds it: say so, not "cannot open"
        raise busy or TrackerError(f"{database_label(engine)}: cannot open the database: {e.orig}") from None
    unknown = current - known
    if unknown:
        raise ConfigError(
            f"{database_label(engine)} was written by a newer intensive-tracker (schema {', '.join(sorted(unknown))}); "
            "install that release or newer, this one never downgrades a database"
        )
    if current == heads:
        return []
    command.upgrade(config, "heads")
    return sorted(heads - current)


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade the schema (run by every command that reads or writes data)."""
    upgrade(engine)


# --- upsert --------------------------------------------------------------------------------------

@dataclass
class Counts:
    """What a write did, per entity: the sync run records these."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: "Counts") -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged

    def as_dict(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class UpsertResult:
    counts: Counts = field(default_factory=Counts)
    ids: dict[tuple[Any, ...], int] = field(default_factory=dict)


def upsert(
    session: Session,
    model: type[SQLModel],
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
) -> UpsertResult:
    """Insert new rows, update changed ones, leave equal ones untouched; return ids by natural key.

    Existing rows are read first so that the counts are exact and an unchanged row is never
    written (a re-sync writes nothing). The write itself is an `INSERT … ON CONFLICT DO UPDATE
    … WHERE changed`, so a concurrent writer cannot make it fail or double a row.
    """
    result = UpsertResult()
    if not rows:
        return result
    table = model.__table__  # type: ignore[attr-defined]
    deduped: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for row in rows:
        deduped[tuple(row[k] for k in key)] = row
    columns = list(next(iter(deduped.values())).keys())
    value_columns = [c for c in columns if c not in key]
    keys = list(deduped)
    dialect = session.get_bind().dialect.name
    existing: dict[tuple[Any, ...], dict[str, Any]] = {}
    key_cols = [table.c[k] for k in key]
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        where = _key_filter(key_cols, chunk, dialect)
        for record in session.connection().execute(select(table.c.id, *[table.c[c] for c in columns]).where(where)):
            mapping = record._mapping
            existing[tuple(mapping[k] for k in key)] = dict(mapping)
    to_write = []
    for natural_key, row in deduped.items():
        before = existing.get(natural_key)
        if before is None:
            result.counts.inserted += 1
            to_write.append(row)
        elif any(_differs(before[c], row[c]) for c in value_columns):
            result.counts.updated += 1
            to_write.append(row)
        else:
            result.counts.unchanged += 1
        if before is not None:
            result.ids[natural_key] = before["id"]
    if not to_write:
        return result
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    # SQLite: one single-row statement run over the rows (executemany), which SQLAlchemy compiles
    # once and sends as multi-row VALUES pages; compiling a 500-row VALUES clause per chunk cost
    # more than the database's own work at region scale (issue 9). PostgreSQL: the rows travel as
    # one array per column and unnest() back into rows, so the statement text stays short and
    # psycopg does not re-parse thousands of placeholders per chunk.
    if dialect == "postgresql":
        arrays = {c: bindparam(f"col_{c}", type_=ARRAY(table.c[c].type)) for c in columns}
        stmt = insert(table).from_select(columns, select(*(func.unnest(arrays[c]).label(c) for c in columns)))
    else:
        stmt = insert(table)
    if value_columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key),
            set_={c: stmt.excluded[c] for c in value_columns},
            where=_any_distinct(table, stmt, value_columns),
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    stmt = stmt.returning(table.c.id, *key_cols)
    for start in range(0, len(to_write), _CHUNK):
        chunk = to_write[start:start + _CHUNK]
        params: Any = ({f"col_{c}": [row[c] for row in chunk] for c in columns} if dialect == "postgresql"
                       else [dict(row) for row in chunk])
        for record in session.connection().execute(stmt, params):
            mapping = record._mapping
            result.ids[tuple(mapping[k] for k in key)] = mapping["id"]
    return result


def _key_filter(key_cols: list[Any], chunk: list[tuple[Any, ...]], dialect: str) -> Any:
    """WHERE clause finding the stored rows of `chunk`'s natural keys."""
    # One condition per key column. For a composite key this finds every combination, a superset
    # of the chunk; rows outside it are never looked up. SQLite answers a row-value
    # `(a, b) IN (VALUES …)` by scanning the whole index (EXPLAIN: SCAN … COVERING INDEX), which made
    # every chunk cost as much as the table and the sync super-linear (issue 9); `a IN … AND b IN …`
    # is a SEARCH on the unique index.
    if dialect == "postgresql":
        # One array parameter per column (see the write path): short statement text for psycopg.
        return and_(*(c == any_(bindparam(None, sorted({k[i] for k in chunk}, key=repr), type_=ARRAY(c.type)))
                      for i, c in enumerate(key_cols)))
    return and_(*(c.in_(sorted({k[i] for k in chunk}, key=repr)) for i, c in enumerate(key_cols)))


def _any_distinct(table: Any, stmt: Any, columns: Iterable[str]) -> Any:
    from sqlalchemy import or_

    return or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in columns))


def _differs(before: Any, after: Any) -> bool:
    if isinstance(before, float) or isinstance(after, float):
        if before is None or after is None:
            return before is not after
        return abs(float(before) - float(after)) > 1e-9
    return before != after


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
