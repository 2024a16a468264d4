"""Whether the report's data are current: the last run that reached every source, and the warnings to show."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlmodel import col

from intensive_tracker.i18n import _
from intensive_tracker.people.vocabulary import RUN_STATUS_LABELS
from intensive_tracker.store import models as m

# The methodist is warned when the newest successful sync is older than this.
STALE_AFTER = timedelta(days=2)


# Errors that leave the data current: the file was read, only some of its rows were refused.
ROW_PROBLEMS = frozenset({"RejectedRows"})


def reached_every_source(errors: list[Any]) -> bool:
    return all(isinstance(e, dict) and e.get("type") in ROW_PROBLEMS for e in errors)


def errors_of_last(conn: Connection) -> list[Any]:
    errors = conn.execute(
        select(col(m.SyncRun.errors))
        .where(col(m.SyncRun.finished_at).is_not(None))
        .order_by(col(m.SyncRun.finished_at).desc(), col(m.SyncRun.id).desc())
        .limit(1)
    ).scalar_one_or_none()
    return list(errors or [])


def last_current(conn: Connection) -> datetime | None:
    """When the data were last current: the newest finished run that reached every source.

    That is a run «ok», or «problems» whose only problems are rejected rows of files it did read.
    """
    ok = conn.execute(
        select(func.max(col(m.SyncRun.finished_at))).where(col(m.SyncRun.status) == "ok")
    ).scalar_one_or_none()
    for finished, errors in conn.execute(
        select(col(m.SyncRun.finished_at), col(m.SyncRun.errors))
        .where(col(m.SyncRun.status) == "problems", col(m.SyncRun.finished_at).is_not(None))
        .order_by(col(m.SyncRun.finished_at).desc(), col(m.SyncRun.id).desc())
        .limit(20)
    ):
        if ok is not None and finished <= ok:
            break
        if reached_every_source(list(errors or [])):
            return finished  # type: ignore[no-any-return]
    return ok


def freshness_warnings(
    *, now: datetime, last_success: datetime | None, last_status: str | None, reached_all: bool = False
) -> list[str]:
    """What the page must warn about: no current data, data older than two days, a last run that missed a source.

    `last_success` is when the last run reaching every source ended; new rejected rows in a file it read
    are a data-quality problem, said as such, not a warning that the data are old (issue 12).
    """
    warnings = []
    if last_success is None:
        warnings.append(_("Успешной синхронизации с Moodle ещё не было: цифры могут быть неполными."))
    elif now - last_success > STALE_AFTER:
        warnings.append(
            _("Последняя успешная синхронизация была больше двух дней назад: данные могут быть устаревшими.")
        )
    if last_status == "problems" and reached_all:
        warnings.append(
            _(
                "Последняя синхронизация нашла новые строки с ошибками в файлах форм: они не учтены "
                "(список — на странице «Качество данных»)."
            )
        )
    elif last_status is not None and last_status != "ok":
        label = _(RUN_STATUS_LABELS.get(last_status, RUN_STATUS_LABELS["failed"]))
        warnings.append(_("Последняя синхронизация {status}: часть данных могла не обновиться.", status=label))
    return warnings
