"""One sending run at a time per database (RELIABILITY.md F10: a manual --send during the daemon's).

Without it, a second run would take the first run's in-flight `sending` row for a crash and hold it
as uncertain. SQLite: an flock on `<database>.mail.lock` beside the file; PostgreSQL: a session
advisory lock. Both vanish with the process, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from intensive_tracker.db import database_label
from intensive_tracker.errors import AlreadyRunning

# pg_advisory_lock key: an arbitrary constant of this application ("mail" in ASCII).
_PG_KEY = 0x6D61696C


@contextmanager
def sending_lock(engine: Engine) -> Iterator[None]:
    """Held for a whole send run; AlreadyRunning (75) if another run holds it."""
    busy = AlreadyRunning(f"another email run is sending from {database_label(engine)}; "
                          "try again when it ends (its messages are not sent twice)")
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_KEY}).scalar():
                raise busy
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_KEY})
                conn.commit()
        return
    database = engine.url.database
    if not database or database.startswith(":memory:"):
        yield  # a private in-memory database: no other process can see it
        return
    path = Path(database + ".mail.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        yield
    finally:
        os.close(fd)  # closing releases the flock
