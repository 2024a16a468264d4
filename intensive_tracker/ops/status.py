"""`status`: what the last runs did, what failed, what runs next, for an administrator or a monitor.

`collect_status` reads sync_run, job_run and (when the email feature added it) outbox into one
plain dict, the `--json` output; `status_text.render_text` lays the same dict out for a terminal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from intensive_tracker.config import Settings
from intensive_tracker.errors import DatabaseCorrupt, DatabaseUnavailable, TrackerError
from intensive_tracker.i18n import _
from intensive_tracker.ops.schedule import configured_jobs, next_fire_times, schedule_zone
from intensive_tracker.periods import aware_utc
from intensive_tracker.store import models as m
from intensive_tracker.store.errors import database_label
from intensive_tracker.store.locks import held_elsewhere
from intensive_tracker.store.schema import schema_heads

SCHEMA_VERSION = 1
# Bookkeeping, not data a person counts; rejected form rows are the run-level "rejected" count.
_ENTITIES_SKIPPED = ("cursors", "rejects", "form_rows", "files")


def _iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    aware = aware_utc(value) if value is not None else None
    return aware.astimezone(tz).isoformat() if aware else None


def collect_status(
    engine: Engine, settings: Settings, *, limit: int = 10, now: datetime | None = None
) -> dict[str, Any]:
    """Everything `status` shows, as JSON-ready data (keys documented in the README)."""
    now = now or datetime.now(UTC)
    tz = settings.tz
    zone = schedule_zone(settings)
    upcoming = next_fire_times(settings, now)
    try:
        stored = _stored(engine, settings, tz, zone, limit)
        unreadable: TrackerError | None = None
    except (DatabaseUnavailable, DatabaseCorrupt) as error:  # status never crashes: it says so (issue 12)
        stored = {"current": set(), "heads": set(), "running": False, "runs": [], "failure": None, "last": {}}
        stored["outbox"] = None
        unreadable = error
    current, heads = stored["current"], stored["heads"]
    jobs = []
    for spec in configured_jobs(settings):
        jobs.append(
            {
                "id": spec.id,
                "title": spec.title,
                "crontab": spec.crontab,
                "timezone": str(zone),
                "next_run": _iso(upcoming.get(spec.id), zone),
                "last": stored["last"].get(spec.id),
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": now.astimezone(tz).replace(microsecond=0).isoformat(),
        "timezone": str(tz),
        "database": database_label(engine),
        "database_error": (
            None if unreadable is None else {"exit_code": unreadable.exit_code, "message": str(unreadable)}
        ),
        "schema": {"current": sorted(current), "heads": sorted(heads), "up_to_date": bool(heads) and current == heads},
        "sync_running": stored["running"],
        "runs": stored["runs"],
        "last_failure": stored["failure"],
        "jobs": jobs,
        "outbox": stored["outbox"],
    }


def _stored(engine: Engine, settings: Settings, tz: ZoneInfo, zone: ZoneInfo, limit: int) -> dict[str, Any]:
    """What `status` reads from the database; raises DatabaseUnavailable or DatabaseCorrupt if it cannot."""
    tables = set(inspect(engine).get_table_names())
    current, heads = schema_heads(engine)  # reads alembic_version only; an empty database has none
    running = _sync_running(engine)
    return {
        "current": current,
        "heads": heads,
        "running": running,
        "runs": _runs(engine, tz, limit, lock_free=not running) if "sync_run" in tables else [],
        "failure": _last_failure(engine, tz, lock_free=not running) if "sync_run" in tables else None,
        "last": {
            spec.id: _last_job_run(engine, spec.id, zone) if "job_run" in tables else None
            for spec in configured_jobs(settings)
        },
        "outbox": _outbox(engine) if "outbox" in tables else None,
    }


def _sync_running(engine: Engine) -> bool:
    """Whether another process holds the sync lock right now."""
    return held_elsewhere(engine)


def _run_status(stored: str, lock_free: bool) -> str:
    # «running» with nobody holding the lock: the process died; the next sync records it the same way.
    return "interrupted" if stored == "running" and lock_free else stored


def _run_dict(run: m.SyncRun, tz: ZoneInfo, lock_free: bool) -> dict[str, Any]:
    counts = run.counts or {}
    totals = {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    for entity, values in counts.items():
        if entity in _ENTITIES_SKIPPED or not isinstance(values, dict):
            continue
        for key in totals:
            totals[key] += int(values.get(key, 0) or 0)
    rejected = counts.get("rejected")
    if isinstance(rejected, int):  # a run-level reject count, if a source records one
        totals["rejected"] += rejected
    cohorts = counts.get("cohorts")
    if not isinstance(cohorts, dict):
        cohorts = {}
    started = aware_utc(run.started_at)
    finished = aware_utc(run.finished_at) if run.finished_at is not None else None
    errors = list(run.errors or [])
    return {
        "id": run.id,
        "trigger": run.trigger,
        "status": _run_status(run.status, lock_free),
        "started_at": _iso(started, tz),
        "finished_at": _iso(finished, tz),
        "duration_s": round((finished - started).total_seconds()) if started and finished else None,
        **totals,
        "marked_missing": int(counts.get("marked_missing", 0) or 0),
        "cohorts_ok": int(cohorts.get("ok", 0)),
        "cohorts_failed": int(cohorts.get("failed", 0)),
        "warnings": len(run.warnings or []),
        # Rejected rows a form file had before, unchanged: listed, but they do not turn the run red (issue 12).
        "known_rejects": [
            w.get("message") for w in run.warnings or [] if isinstance(w, dict) and w.get("code") == "known_rejects"
        ],
        "errors": len(errors),
        "first_error": errors[0].get("message") if errors and isinstance(errors[0], dict) else None,
        **_refresh(counts),
    }


def _refresh(counts: dict[str, Any]) -> dict[str, Any]:
    """Issue 17: how each cohort was refreshed (full, incremental, skipped) and why; parts skipped by fingerprint."""
    refresh = [r for r in counts.get("refresh") or [] if isinstance(r, dict)]
    return {
        "cohorts_refreshed": {
            m: sum(1 for r in refresh if r.get("mode") == m) for m in ("full", "incremental", "skipped")
        },
        "refresh": refresh,
        "skipped_parts": int(counts.get("skipped_parts", 0) or 0),
    }


# The sync_run columns of the first schema: status works on a database a release behind, too.
_RUN_COLUMNS = (
    col(m.SyncRun.id),
    col(m.SyncRun.started_at),
    col(m.SyncRun.finished_at),
    col(m.SyncRun.status),
    col(m.SyncRun.trigger),
    col(m.SyncRun.counts),
    col(m.SyncRun.warnings),
    col(m.SyncRun.errors),
)


def _runs(engine: Engine, tz: ZoneInfo, limit: int, *, lock_free: bool) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(select(*_RUN_COLUMNS).order_by(col(m.SyncRun.id).desc()).limit(limit)).all()
    return [_run_dict(m.SyncRun.model_validate(dict(r._mapping)), tz, lock_free) for r in rows]


def _last_failure(engine: Engine, tz: ZoneInfo, *, lock_free: bool) -> dict[str, Any] | None:
    bad = ["failed", "problems", "interrupted"] + (["running"] if lock_free else [])
    with engine.connect() as connection:
        row = connection.execute(
            select(*_RUN_COLUMNS).where(col(m.SyncRun.status).in_(bad)).order_by(col(m.SyncRun.id).desc()).limit(1)
        ).first()
    if row is None:
        return None
    run = m.SyncRun.model_validate(dict(row._mapping))
    data = _run_dict(run, tz, lock_free)
    data["error_list"] = [
        {"source": e.get("source"), "cohort": e.get("cohort"), "message": e.get("message")}
        for e in (run.errors or [])
        if isinstance(e, dict)
    ]
    if data["status"] == "interrupted" and not data["error_list"]:
        data["error_list"] = [
            {
                "source": None,
                "cohort": None,
                "message": _(
                    "процесс завершился, не закончив запуск (остановлен или убит); "
                    "записанные когорты сохранены, следующий запуск продолжит"
                ),
            }
        ]
    return data


def _last_job_run(engine: Engine, job: str, tz: ZoneInfo) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = connection.execute(
            select(m.JobRun)
            .where(col(m.JobRun.job) == job)
            .order_by(col(m.JobRun.logical_date).desc(), col(m.JobRun.id).desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    run = m.JobRun.model_validate(dict(row._mapping))
    return {
        "logical_date": _iso(run.logical_date, tz),
        "status": run.status,
        "started_at": _iso(run.started_at, tz),
        "finished_at": _iso(run.finished_at, tz),
        "message": run.message,
        "sync_run_id": run.sync_run_id,
    }


def _outbox(engine: Engine) -> dict[str, int] | None:
    """Messages per state in the email outbox (its state column is `state`, else `status`)."""
    from sqlalchemy import MetaData, Table

    table = Table("outbox", MetaData(), autoload_with=engine)
    column = table.c.get("state") if "state" in table.c else table.c.get("status")
    if column is None:
        return None
    with engine.connect() as connection:
        rows = connection.execute(select(column, func.count()).group_by(column).order_by(column)).all()
    return {str(state): int(count) for state, count in rows}
