"""`status`: the last runs with counts, what failed last, a dead run shown as interrupted, the schedule, the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import text

from intensive_tracker.cli import cli
from intensive_tracker.config import parse_settings
from intensive_tracker.ops.status import collect_status
from intensive_tracker.ops.status_text import render_text
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import transaction
from jobs import ledger
from tests.synckit import lock_held_elsewhere

T0 = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # 21.11.26 02:30 in Moscow
COUNTS = {
    "attendance": {"inserted": 10, "updated": 2, "unchanged": 5, "rejected": 1},
    "cursors": {"inserted": 7, "updated": 0, "unchanged": 0},
    "marked_missing": 3,
    "cohorts": {"ok": 2, "failed": 1},
}
TOP_KEYS = {
    "schema_version",
    "generated_at",
    "timezone",
    "database_error",
    "database",
    "schema",
    "sync_running",
    "runs",
    "last_failure",
    "jobs",
    "outbox",
}
RUN_KEYS = {
    "id",
    "trigger",
    "status",
    "started_at",
    "finished_at",
    "duration_s",
    "inserted",
    "updated",
    "unchanged",
    "rejected",
    "marked_missing",
    "cohorts_ok",
    "cohorts_failed",
    "warnings",
    "errors",
    "first_error",
    "cohorts_refreshed",
    "refresh",
    "skipped_parts",
    "known_rejects",
}


def _history(engine: Any) -> None:
    """An ok night, a night with a failed cohort, and a run whose process died."""
    error = {
        "source": "moodle",
        "cohort": "KU-2023-H1",
        "type": "MoodleUnavailable",
        "exit_code": 69,
        "message": "https://moodle did not answer core_enrol_get_enrolled_users in time",
    }
    with transaction(engine) as session:
        session.add(
            m.SyncRun(
                started_at=T0, finished_at=T0 + timedelta(seconds=95), status="ok", trigger="schedule", counts=COUNTS
            )
        )
        session.add(
            m.SyncRun(
                started_at=T0 + timedelta(days=1),
                finished_at=T0 + timedelta(days=1, seconds=40),
                status="problems",
                trigger="schedule",
                counts=COUNTS,
                warnings=[{"message": "w"}],
                errors=[error],
            )
        )
        session.add(m.SyncRun(started_at=T0 + timedelta(days=2), status="running", trigger="manual"))


def _settings(db_url: str) -> Any:
    return parse_settings({"database_url": db_url, "schedule": {"emails": "0 9 1 * *"}}, source="test")


def test_status_lists_runs_with_counts_and_shows_a_dead_run_as_interrupted(engine: Any, db_url: str) -> None:
    """Newest first, counts summed without cursors, the run left «running» with no lock holder is interrupted."""
    _history(engine)
    status = collect_status(engine, _settings(db_url), now=T0 + timedelta(days=3))
    assert set(status) == TOP_KEYS and status["sync_running"] is False
    assert [r["status"] for r in status["runs"]] == ["interrupted", "problems", "ok"]
    ok = status["runs"][2]
    assert set(ok) == RUN_KEYS
    assert (ok["inserted"], ok["updated"], ok["unchanged"], ok["rejected"]) == (10, 2, 5, 1)
    assert ok["duration_s"] == 95 and ok["started_at"] == "2026-11-21T02:30:00+03:00"
    assert (ok["marked_missing"], ok["cohorts_ok"], ok["cohorts_failed"]) == (3, 2, 1)
    assert status["runs"][1]["first_error"].endswith("in time") and status["runs"][1]["warnings"] == 1
    failure = status["last_failure"]
    assert failure["id"] == 3 and failure["status"] == "interrupted"
    assert "не закончив запуск" in failure["error_list"][0]["message"]
    text_ = render_text(status)
    assert "прервана" in text_ and "завершена с проблемами" in text_ and "1 мин 35 с" in text_
    assert "21.11.26 02:30" in text_ and "схема актуальна" in text_


def test_status_names_what_failed_last_and_when_jobs_run_next(engine: Any, db_url: str) -> None:
    """The last failure lists its errors by cohort; each job shows its next time and its last night."""
    _history(engine)
    with transaction(engine) as session:
        session.connection().execute(text("UPDATE sync_run SET status = 'ok', finished_at = started_at WHERE id = 3"))
    run_id = ledger.claim(engine, "nightly-sync", T0, takeover_running=True)
    assert run_id is not None
    ledger.finish(engine, run_id, "problems", sync_run_id=2)
    status = collect_status(engine, _settings(db_url), now=T0 + timedelta(days=3))
    failure = status["last_failure"]
    assert failure["id"] == 2 and failure["error_list"][0]["cohort"] == "KU-2023-H1"
    jobs = {j["id"]: j for j in status["jobs"]}
    assert jobs["nightly-sync"]["next_run"] == "2026-11-24T02:30:00+03:00"
    assert jobs["nightly-sync"]["last"]["status"] == "problems"
    assert jobs["nightly-sync"]["last"]["logical_date"] == "2026-11-21T02:30:00+03:00"
    assert (
        jobs["district-emails"]["next_run"] == "2026-12-01T09:00:00+03:00" and jobs["district-emails"]["last"] is None
    )
    shown = render_text(status)
    assert "moodle KU-2023-H1: https://moodle did not answer" in shown
    assert "nightly-sync" in shown and "следующий 24.11.26 02:30" in shown and "ещё не запускалось" in shown


def test_status_says_a_sync_is_running_while_another_process_holds_the_lock(engine: Any, db_url: str) -> None:
    """With the lock held elsewhere, the running run stays «running» and sync_running is true."""
    _history(engine)
    with lock_held_elsewhere(engine):
        status = collect_status(engine, _settings(db_url))
    assert status["sync_running"] is True and status["runs"][0]["status"] == "running"
    assert status["last_failure"]["id"] == 2
    assert "Синхронизация выполняется сейчас." in render_text(status)


def test_status_counts_the_outbox_by_state(engine: Any, db_url: str) -> None:
    """An empty outbox counts nothing; messages are counted per state."""
    from datetime import datetime

    from sqlalchemy import insert

    from intensive_tracker.store.models import Outbox

    assert collect_status(engine, _settings(db_url))["outbox"] == {}
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for n, state in enumerate(["sent", "pending", "sent"]):
            connection.execute(
                insert(Outbox).values(
                    district=f"Округ {n}",
                    program_key="ku",
                    period="2023/24",
                    message_id=f"<{n}@test.invalid>",
                    subject="Участники-итоги",
                    content_hash="h",
                    state=state,
                    created_at=now,
                    updated_at=now,
                    recipients=[],
                    refused={},
                )
            )
    status = collect_status(engine, _settings(db_url))
    assert status["outbox"] == {"pending": 1, "sent": 2}
    assert "Очередь писем: ожидает отправки: 1, отправлено: 2" in render_text(status)


def test_status_command_prints_json_for_monitoring_and_text_for_people(
    tmp_path: Path, engine: Any, db_url: str
) -> None:
    """`status --json` is the documented JSON; plain `status` says there were no runs yet on a fresh database."""
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{db_url}"\n', "utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert result.exit_code == 0, result.output
    assert "Запусков синхронизации ещё не было." in result.stdout
    _history(engine)
    result = CliRunner().invoke(cli, ["--config", str(config), "status", "--json", "--limit", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == TOP_KEYS and data["schema_version"] == 1 and len(data["runs"]) == 2
    assert data["schema"]["up_to_date"] is True and data["jobs"][0]["id"] == "nightly-sync"


def test_status_reads_a_database_behind_without_upgrading_it(tmp_path: Path, db_url: str) -> None:
    """On a first-release database, status shows the runs and says the schema is behind; it migrates nothing."""
    from alembic import command

    from intensive_tracker.store.engine import make_engine
    from intensive_tracker.store.schema import _alembic_config, schema_heads

    engine = make_engine(db_url)
    command.upgrade(_alembic_config(engine), "0001")
    _history(engine)
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{db_url}"\n', "utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"]["up_to_date"] is False and data["schema"]["current"] == ["0001"]
    assert len(data["runs"]) == 3 and data["jobs"][0]["last"] is None
    assert schema_heads(engine)[0] == {"0001"}
    assert "db upgrade" in render_text(data)
    engine.dispose()
