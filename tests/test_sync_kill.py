"""Fault suite, real processes: a sync killed at named points, two syncs at once, SIGTERM mid-run.

The child is the real `intensive-tracker sync`; INTENSIVE_TRACKER_FAULT_AT makes it `os._exit(137)`
at a point, which is what SIGKILL leaves: no rollback, no cleanup. The resumed run must leave what one
clean run leaves, and no cursor may be ahead of its data at any moment.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from connectors.demo.standin import CostModel
from intensive_tracker.config import load_settings
from intensive_tracker.ops.status import collect_status
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import make_engine
from tests.synckit import (
    ROOT,
    canonical_snapshot,
    clean_run,
    cli_args,
    cli_env,
    demo_world,
    run_cli,
    standin,
    write_config,
)

FIRST, SECOND = "KU-2021-H2", "KU-2021-H1"  # the connector yields cohorts in config order


def _runs(db_url: str) -> list[Any]:
    engine = make_engine(db_url)
    with engine.connect() as connection:
        rows = connection.execute(select(m.SyncRun).order_by(m.SyncRun.id)).all()
    engine.dispose()
    return rows


def _committed_cohorts(db_url: str) -> tuple[set[str], set[str]]:
    """(cohorts with rows, cohorts with a cursor): a cursor must never exist without its data."""
    engine = make_engine(db_url)
    with engine.connect() as connection:
        cohorts = set(connection.execute(select(m.Cohort.key)).scalars())
        cursors = {key.split(":")[1] for key in connection.execute(select(m.SyncCursor.key)).scalars()}
    engine.dispose()
    return cohorts, cursors


KILLS = [  # (where the process dies, the cohorts committed afterwards): each run resumes the last
    ("run_started", set()),
    (f"before_commit:{SECOND}", {FIRST}),
    (f"after_commit:{SECOND}", {FIRST, SECOND}),
    ("before_finish", {FIRST, SECOND, "SHN-2022-23"}),
]


def test_sync_killed_at_each_point_resumes_to_the_clean_state(tmp_path: Path, db_url: str) -> None:
    """Killed again and again: committed cohorts are whole, cursors follow data; the last run equals a clean run."""
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        for point, committed in KILLS:
            killed = run_cli(config, "sync", INTENSIVE_TRACKER_FAULT_AT=point)
            assert killed.returncode == 137, killed.stderr
            assert f"процесс убит в точке {point}" in killed.stderr
            cohorts, cursors = _committed_cohorts(db_url)
            assert cohorts == committed, point
            assert cursors <= cohorts, point  # no cursor ahead of its data
            engine = make_engine(db_url)
            shown = collect_status(engine, load_settings(config))
            engine.dispose()
            assert shown["runs"][0]["status"] == "interrupted"  # nobody holds the lock: the run died
        resumed = run_cli(config, "sync")
        assert resumed.returncode == 0, resumed.stderr
        assert "не завершил" in resumed.stderr and "(процесс убит)" in resumed.stderr
    engine = make_engine(db_url)
    assert canonical_snapshot(engine) == clean_run()[0]
    engine.dispose()
    runs = _runs(db_url)
    assert [r.status for r in runs] == ["interrupted"] * len(KILLS) + ["ok"]
    # Nothing doubled: each batch's counters commit with it, so the runs' inserts add up to one clean run.
    clean_counts = clean_run()[1]
    for entity in ("sessions", "attendance", "defenses", "enrolments", "accounts"):
        inserted = sum((r.counts or {}).get(entity, {}).get("inserted", 0) for r in runs)
        assert inserted == clean_counts[entity]["inserted"], entity


def _slow_standin() -> Any:
    # The lab Moodle's cost per call: a sync of the three cohorts takes a few seconds.
    return standin(demo_world(), cost=CostModel(per_call_ms=40, per_user_ms=1, concurrency=2))


def test_two_syncs_at_once_one_runs_the_other_says_already_running(tmp_path: Path, db_url: str) -> None:
    """Started together: one syncs, the other exits 75 with «уже выполняется» and the winner's pid."""
    with _slow_standin() as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        run_cli(config, "db", "upgrade")  # both would otherwise race to create the schema first
        procs = [
            subprocess.Popen(
                cli_args(config, "sync"),
                env=cli_env(),
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 75], outputs
    loser = next(i for i, p in enumerate(procs) if p.returncode == 75)
    winner = 1 - loser
    assert "уже выполняется" in outputs[loser][1]
    assert f"pid {procs[winner].pid}" in outputs[loser][1]
    engine = make_engine(db_url)
    assert canonical_snapshot(engine) == clean_run()[0]
    engine.dispose()
    assert [r.status for r in _runs(db_url)] == ["ok"]


def test_sigterm_finishes_the_current_cohort_and_exits_75(tmp_path: Path, db_url: str) -> None:
    """SIGTERM after the first cohort: that cohort is whole, the run is «interrupted», exit 75; a rerun converges."""
    with _slow_standin() as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        proc = subprocess.Popen(
            cli_args(config, "sync"), env=cli_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if f"{FIRST} записан" in line:
                proc.send_signal(signal.SIGTERM)
                break
        stopped_at = time.monotonic()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 75, err
        assert time.monotonic() - stopped_at < 10
        assert "прервана" in out
        runs = _runs(db_url)
        assert [r.status for r in runs] == ["interrupted"] and runs[0].finished_at is not None
        cohorts, cursors = _committed_cohorts(db_url)
        assert FIRST in cohorts and "SHN-2022-23" not in cohorts and cursors <= cohorts
        assert run_cli(config, "sync").returncode == 0
    engine = make_engine(db_url)
    assert canonical_snapshot(engine) == clean_run()[0]
    engine.dispose()


def test_a_second_signal_stops_at_once_and_loses_nothing(tmp_path: Path) -> None:
    """Ctrl-C twice: the process ends at once (killed by SIGINT), committed cohorts stay whole, a rerun converges."""
    db_url = f"sqlite:///{tmp_path}/tracker.db"
    with _slow_standin() as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        proc = subprocess.Popen(
            cli_args(config, "sync"), env=cli_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if f"{FIRST} записан" in line:
                proc.send_signal(signal.SIGINT)
                time.sleep(0.05)  # well before the cohort in flight is written
                proc.send_signal(signal.SIGINT)
                break
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGINT
        cohorts, cursors = _committed_cohorts(db_url)
        assert FIRST in cohorts and cursors <= cohorts
        assert run_cli(config, "sync").returncode == 0
    engine = make_engine(db_url)
    assert canonical_snapshot(engine) == clean_run()[0]
    engine.dispose()
    assert [r.status for r in _runs(db_url)] == ["interrupted", "ok"]
