"""Schema migrations (Alembic): where the database stands, and bringing it to this release."""

from __future__ import annotations

from contextlib import ExitStack
from importlib import resources

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from intensive_tracker.errors import AlreadyRunning, ConfigError, TrackerError
from intensive_tracker.i18n import _
from intensive_tracker.store.errors import database_label
from intensive_tracker.store.locks import database_busy, sync_lock


def _alembic_config(engine: Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    ini = resources.files("intensive_tracker.store") / "alembic.ini"
    config = Config(str(ini))
    config.set_main_option("script_location", "intensive_tracker.store:migrations")
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
        busy = database_busy(engine, e)  # another writer holds it: say so, not "cannot open"
        raise busy or _cannot_open(engine, e) from None
    unknown = current - known
    if unknown:
        raise ConfigError(
            _(
                "{database} записана более новой версией intensive-tracker (схема {revisions}); "
                "установите ту версию или новее: эта никогда не откатывает базу назад",
                database=database_label(engine),
                revisions=", ".join(sorted(unknown)),
            )
        )
    if current == heads:
        return []
    command.upgrade(config, "heads")
    return sorted(heads - current)


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade the schema (run by every command that reads or writes data).

    A schema already at this release's head is left alone without any lock. One that is behind (or
    absent) is migrated only under the sync lock, the one `sync` and `db upgrade` hold: a `report`,
    `email` or the mail sender started during the nightly sync never migrates under it, and says
    so (AlreadyRunning, 75) instead; the sync itself holds the lock already (it is re-entrant).
    """
    try:
        current, heads = schema_heads(engine)
    except OperationalError as e:
        busy = database_busy(engine, e)
        raise busy or _cannot_open(engine, e) from None
    if current == heads:
        return
    with ExitStack() as stack:
        try:
            stack.enter_context(sync_lock(engine))
        except AlreadyRunning as busy:
            raise AlreadyRunning(
                _(
                    "схема базы отстаёт от этой версии intensive-tracker, а обновлять её во время синхронизации "
                    "нельзя: {reason}; затем выполните intensive-tracker db upgrade",
                    reason=busy,
                )
            ) from None
        upgrade(engine)


def _cannot_open(engine: Engine, error: OperationalError) -> TrackerError:
    return TrackerError(
        _("{database}: не удаётся открыть базу: {error}", database=database_label(engine), error=error.orig)
    )
