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
