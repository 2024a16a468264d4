"""The database's own failures as one-line errors: unreachable (69) or not a database (65), never a traceback.

`make_engine` hooks `translate` into SQLAlchemy's `handle_error`, so every statement and every
connection of every command goes through it once, wherever the engine is first used.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine, ExceptionContext

from intensive_tracker.errors import DatabaseCorrupt, DatabaseUnavailable, TrackerError
from intensive_tracker.i18n import _
from intensive_tracker.redact import redact

# SQLite's words for a file that is not (or no longer) a database: SQLITE_NOTADB, SQLITE_CORRUPT.
_CORRUPT = ("file is not a database", "database disk image is malformed")
_CANNOT_OPEN = ("unable to open database file",)


def database_label(engine: Engine) -> str:
    """The database named for a person: its file or host, never a password."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"SQLite {url.database or ':memory:'}"
    return f"PostgreSQL {url.host or 'localhost'}:{url.port or 5432}/{url.database}"


def translate(context: ExceptionContext) -> None:
    """Raise the TrackerError a person can act on for an unreachable or corrupt database; else leave it be."""
    error = classify(context.engine, context.original_exception, connecting=context.connection is None)
    if error is not None:
        raise error from None


def classify(engine: Engine | None, error: BaseException, *, connecting: bool = False) -> TrackerError | None:
    """The error for «cannot reach» or «not a database», or None for any other failure."""
    if engine is None:
        return None
    label = database_label(engine)
    text = " ".join(str(error).split())
    lowered = text.lower()
    if engine.dialect.name == "sqlite":
        if any(words in lowered for words in _CORRUPT):
            return DatabaseCorrupt(
                _(
                    "{database}: файл повреждён или не является базой SQLite («{error}»). Восстановите его из "
                    "резервной копии или укажите другой файл в database_url; intensive-tracker его не изменял",
                    database=label,
                    error=text[:120],
                )
            )
        if any(words in lowered for words in _CANNOT_OPEN):
            return DatabaseUnavailable(
                _(
                    "{database}: не удаётся открыть файл базы. Проверьте путь в database_url и права на папку",
                    database=label,
                )
            )
        return None
    if connecting:
        reason = redact(text.split(":")[-1].strip() or type(error).__name__)[:160]
        return DatabaseUnavailable(
            _(
                "{database}: база данных недоступна ({reason}). Проверьте, что сервер PostgreSQL запущен и "
                "database_url в конфигурации указывает на него, затем повторите команду",
                database=label,
                reason=reason,
            )
        )
    return None
