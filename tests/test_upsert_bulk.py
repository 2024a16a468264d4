"""The bulk write path (issue 17) stores exactly what the row-by-row path stores, and counts the same."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import upsert

KEY = ["source", "cohort_key", "part"]
WHEN = datetime(2026, 12, 3, 2, 30, 15, 123456, tzinfo=UTC)


def _rows(n: int, digest: str = "a") -> list[dict[str, Any]]:
    return [
        {"source": "moodle", "cohort_key": f"K{i}", "part": "people", "digest": digest, "written_at": WHEN}
        for i in range(n)
    ]


def test_bulk_rows_read_back_equal_to_what_the_ids_path_writes(engine: Any) -> None:
    """Rows written in bulk compare unchanged to the same rows through the ids path; a change is one update."""
    with Session(engine) as session:
        first = upsert(session, m.BatchFingerprint, _rows(1200), key=KEY, ids=False)
        again = upsert(session, m.BatchFingerprint, _rows(1200), key=KEY)
        changed = _rows(1200)
        changed[7]["digest"] = "b"
        update = upsert(session, m.BatchFingerprint, changed, key=KEY, ids=False)
        session.commit()
        stored = session.execute(select(m.BatchFingerprint.written_at, m.BatchFingerprint.digest)).all()
    assert first.counts.as_dict() == {"inserted": 1200, "updated": 0, "unchanged": 0}
    assert again.counts.as_dict() == {"inserted": 0, "updated": 0, "unchanged": 1200}
    assert update.counts.as_dict() == {"inserted": 0, "updated": 1, "unchanged": 1199}
    assert sorted(d for _, d in stored).count("b") == 1
    assert {w.replace(tzinfo=w.tzinfo or UTC) for w, _ in stored} == {WHEN}


def test_bulk_path_stores_the_same_text_as_the_ids_path(engine: Any) -> None:
    """The stored representation (as SQL sees it) of a bulk-written timestamp equals the ids path's."""
    with Session(engine) as session:
        upsert(session, m.BatchFingerprint, [{**_rows(1)[0], "cohort_key": "ids"}], key=KEY)
        upsert(session, m.BatchFingerprint, [{**_rows(1)[0], "cohort_key": "bulk"}], key=KEY, ids=False)
        session.commit()
        stored = dict(
            session.connection()
            .exec_driver_sql("SELECT cohort_key, CAST(written_at AS TEXT) FROM batch_fingerprint")
            .all()
        )
    assert stored["bulk"] == stored["ids"]


def test_a_scoped_upsert_reads_the_stored_rows_with_one_select(engine: Any) -> None:
    """Issue 17: with `scope` the stored rows are read by one SELECT, whatever their number; counts stay exact."""
    from sqlalchemy import event

    from intensive_tracker.store.upsert import CHUNK

    scope = m.BatchFingerprint.source == "moodle"  # type: ignore[arg-type]
    selects: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    n = 3 * CHUNK + 7
    with Session(engine) as session:
        upsert(session, m.BatchFingerprint, _rows(n), key=KEY, ids=False, scope=scope)
        changed = _rows(n)
        changed[CHUNK + 1]["digest"] = "b"
        event.listen(engine, "before_cursor_execute", count)
        try:
            again = upsert(session, m.BatchFingerprint, changed, key=KEY, ids=False, scope=scope)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        same = upsert(session, m.BatchFingerprint, changed, key=KEY, scope=scope)
        session.commit()
    assert len(selects) == 1
    assert again.counts.as_dict() == {"inserted": 0, "updated": 1, "unchanged": n - 1}
    assert same.counts.as_dict() == {"inserted": 0, "updated": 0, "unchanged": n}
    assert len(same.ids) == n


def test_postgresql_copy_and_unnest_paths_store_the_same_rows(engine: Any, monkeypatch: Any) -> None:
    """Issue 17: COPY into a temporary table and the array pages write, update and skip the same rows."""
    import pytest

    from intensive_tracker.store import upsert as module

    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's bulk paths")
    stored: dict[str, list[tuple[Any, ...]]] = {}
    for path in ("copy", "unnest"):
        monkeypatch.setattr(module, "PG_BULK", path)
        rows = [{**r, "source": path} for r in _rows(1500)]
        with Session(engine) as session:
            first = upsert(session, m.BatchFingerprint, rows, key=KEY, ids=False)
            rows[3] = {**rows[3], "digest": "b"}
            second = upsert(session, m.BatchFingerprint, rows, key=KEY, ids=False)
            # Twice in one transaction: the temporary table of the first call does not stand in the way.
            rows[4] = {**rows[4], "digest": "c"}
            third = upsert(session, m.BatchFingerprint, rows, key=KEY, ids=False)
            session.commit()
            stored[path] = sorted(
                session.execute(
                    select(
                        m.BatchFingerprint.cohort_key,  # type: ignore[arg-type]
                        m.BatchFingerprint.digest,
                        m.BatchFingerprint.written_at,
                    ).where(m.BatchFingerprint.source == path)  # type: ignore[arg-type]
                ).all()
            )
        assert first.counts.inserted == 1500 and second.counts.updated == 1 and third.counts.updated == 1
    assert stored["copy"] == stored["unnest"]
    assert [d for _, d, _ in stored["copy"]].count("a") == 1498


def test_sqlite_bulk_pages_hold_every_row_whatever_the_parameter_limit(engine: Any, monkeypatch: Any) -> None:
    """Issue 17: SQLite writes pages of multi-row VALUES; pages smaller than the rows, and a library allowing
    only 11 bound parameters (two rows of five columns a statement) lose and double nothing."""
    import sqlite3

    import pytest

    from intensive_tracker.store import upsert as module

    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's bulk path")
    monkeypatch.setattr(module, "SQLITE_PAGE_ROWS", 7)
    rows = list(reversed(_rows(103)))  # not in key order: the write sorts them
    with Session(engine) as session:
        first = upsert(session, m.BatchFingerprint, rows, key=KEY, ids=False)
        session.connection().connection.driver_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 11)
        rows[40:70] = [{**r, "digest": "b"} for r in rows[40:70]]
        scope = m.BatchFingerprint.source == "moodle"  # type: ignore[arg-type]
        more = rows + [{**rows[0], "cohort_key": "new"}]
        second = upsert(session, m.BatchFingerprint, more, key=KEY, ids=False, scope=scope)
        session.commit()
        stored = dict(session.execute(select(m.BatchFingerprint.cohort_key, m.BatchFingerprint.digest)).all())
    assert first.counts.as_dict() == {"inserted": 103, "updated": 0, "unchanged": 0}
    assert second.counts.as_dict() == {"inserted": 1, "updated": 30, "unchanged": 73}
    assert len(stored) == 104 and [stored[r["cohort_key"]] for r in rows].count("b") == 30
