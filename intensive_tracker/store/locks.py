"""Named locks across processes: a file lock beside a SQLite file, an advisory lock on PostgreSQL.

Two names exist. `sync_lock`: APScheduler cannot keep two processes from running the same job (its
FAQ: "You can't"), and an administrator may start `sync` by hand during the nightly one; both take
this lock, and the one that comes second is told who holds it and exits with 75 (EX_TEMPFAIL).
`sending_lock`: one e-mail sending run per database (RELIABILITY.md F10), else a second run would
take the first run's in-flight `sending` row for a crash and hold it as uncertain.

Both vanish with the process, so a crash never leaves a stale lock. A lock is re-entrant within one
thread, so the nightly job can hold the sync lock around sync + report while `run_sync` takes it again.
"""

from __future__ import annotations

import fcntl
import functools
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from intensive_tracker.errors import AlreadyRunning, TrackerError
from intensive_tracker.files import make_dir, protect
from intensive_tracker.i18n import _
from intensive_tracker.periods import local
from intensive_tracker.store.errors import database_label


@dataclass(frozen=True)
class LockName:
    """A lock's file beside a SQLite database, its PostgreSQL advisory key, and how it names its holder."""

    suffix: str
    advisory_key: int
    application_name: str
    reentrant: bool  # may the thread that holds it take it again


# pg_try_advisory_lock takes a bigint; fixed numbers keep the keys stable across releases.
SYNC = LockName(".lock", zlib.crc32(b"intensive-tracker sync"), "intensive-tracker sync", reentrant=True)
# Not re-entrant: a send run inside another would take its in-flight rows for a crash.
MAIL = LockName(".mail.lock", 0x6D61696C, "intensive-tracker mail", reentrant=False)  # "mail" in ASCII

_RETRY_S = 2.0  # how often a waiting nightly job tries the lock again

_held: dict[tuple[str, str, int], int] = {}
_held_guard = threading.Lock()


class DatabaseBusy(TrackerError):
    """Another writer kept the database locked longer than the busy timeout."""

    exit_code = os.EX_TEMPFAIL


def lock_path(engine: Engine, name: LockName = SYNC) -> Path | None:
    """`<db>.lock` (or the name's suffix) beside a SQLite file; None for PostgreSQL and in-memory SQLite."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database + name.suffix)


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def sync_lock(
    engine: Engine, *, wait_s: float = 0, should_stop: Callable[[], bool] | None = None, record: bool = True
) -> Iterator[None]:
    """Hold the sync lock for the block; raise AlreadyRunning when another process holds it.

    `wait_s` > 0 retries for that long first (the nightly job waits out a manual sync instead of
    skipping the night; `should_stop` ends the wait). `record=False` leaves the holder line alone
    (a probe by `status`).
    """
    busy = functools.partial(_busy_message, engine)
    deadline = time.monotonic() + wait_s
    with ExitStack() as stack:
        while True:
            try:
                stack.enter_context(_named_lock(engine, SYNC, record=record, busy=busy))
                break
            except AlreadyRunning:
                if time.monotonic() >= deadline or (should_stop is not None and should_stop()):
                    raise
                time.sleep(min(_RETRY_S, max(deadline - time.monotonic(), 0.01)))
        yield


def held_elsewhere(engine: Engine) -> bool:
    """Whether another process (or thread) holds the sync lock now; takes it for an instant to find out."""
    try:
        with sync_lock(engine, record=False):
            return False
    except AlreadyRunning:
        return True


@contextmanager
def sending_lock(engine: Engine) -> Iterator[None]:
    """Held for a whole e-mail send run; AlreadyRunning (75) if another run holds it."""

    def busy(_holder: str) -> str:
        return (
            f"another email run is sending from {database_label(engine)}; "
            "try again when it ends (its messages are not sent twice)"
        )

    with _named_lock(engine, MAIL, record=False, busy=busy):
        yield


@contextmanager
def _named_lock(engine: Engine, name: LockName, *, record: bool, busy: Callable[[str], str]) -> Iterator[None]:
    key = (name.suffix, _key(engine), threading.get_ident())
    with _held_guard:
        if key in _held and name.reentrant:
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    acquire = _postgres_lock if engine.dialect.name == "postgresql" else _file_lock
    with acquire(engine, name, record=record, busy=busy):
        with _held_guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_guard:
                _held.pop(key, None)


def _holder_line() -> str:
    started = local(datetime.now(UTC).replace(microsecond=0)).isoformat()
    return f"pid {os.getpid()} on {socket.gethostname()} since {started}\n"


def _read_holder(path: Path, *, wait_s: float = 1.0) -> str:
    """The holder's line; the holder writes it just after taking the lock, so an empty file is waited for."""
    deadline = time.monotonic() + wait_s
    while True:
        holder = path.read_text("utf-8", errors="replace").strip() if path.exists() else ""
        if holder or time.monotonic() >= deadline:
            return holder
        time.sleep(0.02)


@contextmanager
def _file_lock(engine: Engine, name: LockName, *, record: bool, busy: Callable[[str], str]) -> Iterator[None]:
    path = lock_path(engine, name)
    if path is None:  # an in-memory database lives in this process only
        yield
        return
    make_dir(path.parent)
    # The lock file is never deleted: unlinking it would let a third process lock a new inode
    # while the second still holds the old one. The kernel drops the lock when the process dies.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        protect(fd)  # 0600, or 0640 with [files] group
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(busy(_read_holder(path))) from None
        if record:
            os.ftruncate(fd, 0)
            os.pwrite(fd, _holder_line().encode(), 0)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _postgres_lock(engine: Engine, name: LockName, *, record: bool, busy: Callable[[str], str]) -> Iterator[None]:
    # A dedicated connection: the advisory lock belongs to the session and must outlive every
    # batch transaction of the sync; it is released when this connection closes (also on a crash).
    connection = engine.connect()
    try:
        if record:
            # Named before the lock is taken, so whoever finds the lock held can already read who holds it.
            label = f"{name.application_name} pid {os.getpid()} on {socket.gethostname()}"[:63]
            connection.execute(text("SELECT set_config('application_name', :n, false)"), {"n": label})
            connection.commit()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": name.advisory_key}).scalar()
        if not got:
            raise AlreadyRunning(busy(_postgres_holder(connection, name)))
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": name.advisory_key})
            connection.commit()
    finally:
        connection.close()


def _postgres_holder(connection: Connection, name: LockName) -> str:
    row = connection.execute(
        text(
            "SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = :k AND l.classid = 0"
        ),
        {"k": name.advisory_key},
    ).first()
    connection.rollback()
    if row is None:
        return ""
    return str(row[0]).removeprefix(name.application_name).strip()


def _busy_message(engine: Engine, holder: str) -> str:
    started = _running_since(engine)
    who = f" ({holder})" if holder else ""
    since = _("; текущий запуск #{run} начат {when}", run=started[0], when=started[1]) if started else ""
    return _(
        "синхронизация уже выполняется{who}{since}. {database}: дождитесь её окончания "
        "(intensive-tracker status покажет итог) и при необходимости запустите снова",
        who=who,
        since=since,
        database=database_label(engine),
    )


def _running_since(engine: Engine) -> tuple[int, str] | None:
    """The sync_run the holder is writing, if it has started one."""
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT id, started_at FROM sync_run WHERE status = 'running' ORDER BY id DESC LIMIT 1")
            ).first()
    except DBAPIError:  # no sync_run table yet: the holder is still creating the schema
        return None
    if row is None:
        return None
    started = row[1]
    if isinstance(started, str):
        started = datetime.fromisoformat(started)
    return int(row[0]), local(started).strftime("%d.%m.%y %H:%M ") + _("(МСК)")


def database_busy(engine: Engine, error: DBAPIError) -> DatabaseBusy | None:
    """The clear error for «another writer held the database too long», or None for any other error."""
    text_ = str(getattr(error, "orig", error)).lower()
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    if not ("database is locked" in text_ or "database table is locked" in text_ or sqlstate == "55P03"):
        return None
    return DatabaseBusy(
        _(
            "{database}: другая программа держала базу заблокированной для записи дольше допустимого ожидания "
            "(SQLite busy_timeout / PostgreSQL lock_timeout); из текущей порции ничего не записано. "
            "Найдите программу, которая её держит (резервное копирование, ручной сеанс sqlite3 или psql), "
            "и запустите синхронизацию снова",
            database=database_label(engine),
        )
    )
