"""Issue 17's passes: the bulk-load floor, the profile of a sync, and the nightly clock of the region.

* **bulk-load floor**: the synced data rows, read back into memory, written again into empty copies of
  their tables (same columns, keys and unique indexes) by the fastest path each database offers:
  PostgreSQL `COPY … FROM STDIN`; SQLite, in one transaction, the faster of one `executemany` per table and
  pages of multi-row VALUES (both timed, in `bulk_load_paths`). Only the write is timed; the copies are dropped
  afterwards.
* **profile**: seconds of one sync spent decoding Moodle's JSON (`parse`), validating the answers into
  models (`validate`; an array answer is decoded and validated in one pass by pydantic's `validate_json`, all of
  it counted here, so `parse` is then only the checks of the bytes), in the cohort writer outside its write statements (`diff`: reading stored rows,
  comparing, fingerprints, building rows) and in its INSERT/UPDATE statements (`write`). Parse and
  validate run in the fetch threads, so they overlap the writer and are summed over threads.
* **bulk paths** (PostgreSQL): the synced attendance marks, truncated and written again in a transaction that is
  rolled back, by each bulk path of `store/upsert.py` (`copy`: COPY into a temporary table + one INSERT … ON
  CONFLICT; `unnest`: pages of arrays), alternately, best of three each. The faster is the one to keep as PG_BULK.
  `copy_without_foreign_keys` is the COPY path with the table's foreign keys dropped in that transaction: what
  their per-row checks cost (the bulk-load floor writes into copies without them).
* **nightly clock**: two days after the region's last session (not a Sunday, the weekly full refetch),
  so the last school year's latest launches are still active and the older years finished.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import Delete, Insert, Update

from connectors.demo.world import World
from connectors.moodle import client as moodle_client
from intensive_tracker.periods import local_date
from intensive_tracker.store import models as m
from intensive_tracker.store import upsert as store_upsert
from intensive_tracker.sync import engine as sync_engine

FLOOR_TABLES = ("participant", "account", "enrolment", "session", "attendance", "defense")


def bulk_load_floor(engine: Engine) -> tuple[float, int, dict[str, float]]:
    """Seconds to write every synced data row into empty copies of its table by the fastest path; how many rows;
    and the seconds of each path tried (SQLite: `executemany` and pages of multi-row VALUES; PostgreSQL: COPY)."""
    source = m.SQLModel.metadata
    copies = MetaData()
    tables = []
    for name in FLOOR_TABLES:
        table = source.tables[name]
        copy = table.to_metadata(copies, name=f"floor_{name}")
        copy.foreign_keys.clear()
        for constraint in list(copy.constraints):
            if constraint.__class__.__name__ == "ForeignKeyConstraint":
                copy.constraints.discard(constraint)
        tables.append((table, copy))
    data = []
    with engine.connect() as conn:
        for table, copy in tables:
            data.append((copy, [tuple(r) for r in conn.execute(select(table))]))
    rows = sum(len(r) for _, r in data)
    paths = ("copy",) if engine.dialect.name == "postgresql" else ("executemany", "values_pages")
    seconds: dict[str, float] = {}
    for path in paths:
        copies.drop_all(engine)
        copies.create_all(engine)
        try:
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                started = time.perf_counter()
                if engine.dialect.name == "sqlite":
                    cursor.execute("BEGIN")  # the engine's connections autocommit at the driver level
                for copy, records in data:
                    _floor_write(cursor, copy, records, path)
                raw.commit()
                seconds[path] = round(time.perf_counter() - started, 3)
            finally:
                raw.close()
        finally:
            copies.drop_all(engine)
    return min(seconds.values()), rows, seconds


def _floor_write(cursor: Any, copy: Any, records: list[tuple[Any, ...]], path: str) -> None:
    names = ", ".join(f'"{c.name}"' for c in copy.columns)
    if path == "copy":
        with cursor.copy(f"COPY {copy.name} ({names}) FROM STDIN") as pipe:
            for record in records:
                pipe.write_row(record)
    elif path == "executemany":
        cursor.executemany(f"INSERT INTO {copy.name} VALUES ({', '.join('?' for _ in copy.columns)})", records)
    else:  # the sync's own SQLite pages (store/upsert.py), without ON CONFLICT
        for values, params in store_upsert.sqlite_values_pages(records, cursor.connection):
            cursor.execute(f"INSERT INTO {copy.name} VALUES {values}", params)


MARK_COLUMNS = ["session_id", "participant_id", "account_id", "status", "status_label", "present"]
NO_FK = "copy_without_foreign_keys"


def bulk_paths(engine: Engine) -> dict[str, Any] | None:
    """PostgreSQL: seconds of each bulk path writing every synced mark into the emptied table; None on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    from sqlmodel import Session

    table = m.Attendance.__table__  # type: ignore[attr-defined]
    key = ["session_id", "participant_id"]
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(*(table.c[c] for c in MARK_COLUMNS)))]
    seconds: dict[str, list[float]] = {"copy": [], "unnest": [], NO_FK: []}
    kept = store_upsert.PG_BULK
    try:
        for path in ("copy", "unnest", NO_FK) * 3:
            store_upsert.PG_BULK = "copy" if path == NO_FK else path
            with Session(engine) as session:
                conn = session.connection()
                if path == NO_FK:
                    # What the foreign keys' per-row checks cost: the same COPY path without them (rolled back).
                    names = conn.exec_driver_sql(
                        f"SELECT conname FROM pg_constraint WHERE conrelid = '{table.name}'::regclass AND contype = 'f'"
                    ).scalars()
                    for name in list(names):
                        conn.exec_driver_sql(f'ALTER TABLE "{table.name}" DROP CONSTRAINT "{name}"')
                # TRUNCATE (rolled back with the rest): an empty table, as the full sync finds it; a DELETE would
                # leave every old row's index entries for the new ones to step over.
                conn.exec_driver_sql(f'TRUNCATE "{table.name}"')
                started = time.perf_counter()
                store_upsert._bulk_write(session, table, MARK_COLUMNS, key, MARK_COLUMNS[2:], rows, "postgresql")
                seconds[path].append(time.perf_counter() - started)
                session.rollback()
    finally:
        store_upsert.PG_BULK = kept
    best = {path: round(min(s), 3) for path, s in seconds.items()}
    faster = min(("copy", "unnest"), key=lambda p: best[p])
    return {"rows": len(rows), **best, "faster": faster, "kept": kept}


class Profile:
    """Seconds per stage, added up from every thread."""

    def __init__(self) -> None:
        self.seconds = {"parse": 0.0, "validate": 0.0, "diff": 0.0, "write": 0.0}
        self._lock = threading.Lock()
        self._in_writer = threading.local()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] += seconds

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.seconds.items()}


class _TimedAdapter:
    """A TypeAdapter whose validations add to the profile's `validate`."""

    def __init__(self, adapter: TypeAdapter[Any], profile: Profile) -> None:
        self._adapter = adapter
        self._profile = profile

    def validate_json(self, data: bytes) -> Any:
        return self._timed(self._adapter.validate_json, data)

    def validate_python(self, data: Any) -> Any:
        return self._timed(self._adapter.validate_python, data)

    def _timed(self, validate: Callable[[Any], Any], data: Any) -> Any:
        started = time.perf_counter()
        try:
            return validate(data)
        finally:
            self._profile.add("validate", time.perf_counter() - started)


@contextmanager
def profiled() -> Iterator[Profile]:
    """Wrap the stages' functions for the block; restored afterwards."""
    profile = Profile()
    decode = moodle_client.MoodleClient.decode
    validated = moodle_client.MoodleClient.validated
    execute = Connection.execute
    bulk_write = store_upsert._bulk_write
    writer = sync_engine.WRITERS["cohort"]

    def counted_bulk(*args: Any, **kwargs: Any) -> None:
        # The bulk path writes through the driver (SQLite's VALUES pages, COPY): all of it is `write`.
        if not getattr(profile._in_writer, "on", False):
            return bulk_write(*args, **kwargs)
        profile._in_writer.bulk = True
        started = time.perf_counter()
        try:
            return bulk_write(*args, **kwargs)
        finally:
            profile._in_writer.bulk = False
            profile.add("write", time.perf_counter() - started)

    def counted_execute(self: Connection, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if (
            not getattr(profile._in_writer, "on", False)
            or getattr(profile._in_writer, "bulk", False)
            or not isinstance(statement, (Insert, Update, Delete))
        ):
            return execute(self, statement, *args, **kwargs)
        started = time.perf_counter()
        try:
            return execute(self, statement, *args, **kwargs)
        finally:
            profile.add("write", time.perf_counter() - started)

    def write_cohort(*args: Any, **kwargs: Any) -> None:
        profile._in_writer.on = True
        before = profile.seconds["write"]
        started = time.perf_counter()
        try:
            writer(*args, **kwargs)
        finally:
            profile._in_writer.on = False
            profile.add("diff", time.perf_counter() - started - (profile.seconds["write"] - before))

    def validated_timed(self: Any, wsfunction: str, content: bytes, adapter: Any = None) -> Any:
        # The answer's validation (the adapter's calls) is `validate`, when it is decoded or later (issue 17:
        # the attendance answers are validated only once the cohort's digest says they changed).
        return validated(self, wsfunction, content, _TimedAdapter(adapter, profile) if adapter is not None else None)

    def decode_timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        # The rest of decoding (status, error checks, json.loads of objects) is `parse`.
        before = profile.seconds["validate"]
        started = time.perf_counter()
        try:
            return decode(self, *args, **kwargs)
        finally:
            profile.add("parse", time.perf_counter() - started - (profile.seconds["validate"] - before))

    moodle_client.MoodleClient.decode = decode_timed  # type: ignore[method-assign]
    moodle_client.MoodleClient.validated = validated_timed  # type: ignore[method-assign]
    Connection.execute = counted_execute  # type: ignore[method-assign]
    store_upsert._bulk_write = counted_bulk
    writers: dict[str, Any] = sync_engine.WRITERS  # type: ignore[assignment]
    writers["cohort"] = write_cohort
    try:
        yield profile
    finally:
        moodle_client.MoodleClient.decode = decode  # type: ignore[method-assign]
        moodle_client.MoodleClient.validated = validated  # type: ignore[method-assign]
        Connection.execute = execute  # type: ignore[method-assign]
        store_upsert._bulk_write = bulk_write
        writers["cohort"] = writer


def nightly_clock(world: World) -> datetime:
    """Two days after the region's last session, moved off Sunday (the weekly full refetch)."""
    last = max(s.sessdate for c in world.courses for a in c.attendances for s in a.sessions)
    when = datetime.fromtimestamp(last, UTC) + timedelta(days=2)
    while local_date(when).weekday() == 6:
        when += timedelta(days=1)
    return when


def active_year_days(world: World, clock: datetime) -> int:
    """`finished_after_days` that keeps every cohort with a session in the region's last school year active."""
    last = local_date(
        datetime.fromtimestamp(max(s.sessdate for c in world.courses for a in c.attendances for s in a.sessions), UTC)
    )
    start = datetime(last.year if last.month >= 9 else last.year - 1, 9, 1, tzinfo=UTC)
    return (clock - start).days + 1
