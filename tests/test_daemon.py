"""The daemon: its schedule in Moscow time on a UTC machine, a missed night run once, a night run once per
night across processes, and the real process surviving SIGTERM mid-run and a restart."""

from __future__ import annotations

import logging
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from intensive_tracker.config import load_settings, parse_settings
from intensive_tracker.ops.shutdown import StopFlag, stop_on_signals
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import make_engine
from intensive_tracker.store.locks import sync_lock
from jobs import ledger
from jobs.scheduler import (
    JOB_EMAILS,
    JOB_SYNC,
    build_scheduler,
    logical_date,
    missed_runs,
    run_until_stopped,
)
from tests.synckit import (
    ROOT,
    canonical_snapshot,
    clean_run,
    cli_args,
    cli_env,
    demo_world,
    lock_held_elsewhere,
    standin,
    write_config,
)

UTC = UTC
MSK = ZoneInfo("Europe/Moscow")


@pytest.fixture
def utc_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's clock is in UTC, as the lab's is."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_schedule_is_in_moscow_time_on_a_utc_machine(utc_machine: None) -> None:
    """02:30 in Moscow is 23:30 UTC the evening before; 00:01 Moscow belongs to the next Moscow day."""
    settings = parse_settings({"schedule": {"emails": "1 0 1 * *"}}, source="test")
    scheduler = build_scheduler(settings, "config.toml", now=datetime(2024, 1, 1, 12, tzinfo=UTC))
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {JOB_SYNC, JOB_EMAILS}
    nightly = jobs[JOB_SYNC].trigger.get_next_fire_time(None, datetime(2024, 1, 1, 23, 0, tzinfo=UTC))
    assert nightly == datetime(2024, 1, 1, 23, 30, tzinfo=UTC)
    assert (nightly.astimezone(MSK).day, nightly.astimezone(MSK).hour, nightly.astimezone(MSK).minute) == (2, 2, 30)
    # 23:59 Moscow on 31 January is 20:59 UTC: the monthly e-mail at 00:01 on the 1st fires two minutes later.
    emails = jobs[JOB_EMAILS].trigger.get_next_fire_time(None, datetime(2024, 1, 31, 20, 59, tzinfo=UTC))
    assert emails == datetime(2024, 1, 31, 21, 1, tzinfo=UTC)
    assert (
        logical_date(settings, JOB_EMAILS, datetime(2024, 1, 31, 21, 30, tzinfo=UTC)).astimezone(MSK).date()
        == datetime(2024, 2, 1).date()
    )
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce is True and job.misfire_grace_time == 6 * 3600
        assert str(job.trigger.timezone) == "Europe/Moscow"


def test_emails_are_not_scheduled_unless_configured() -> None:
    """With [schedule].emails empty, only the nightly sync is scheduled."""
    scheduler = build_scheduler(parse_settings({}, source="test"), "config.toml", now=datetime(2024, 1, 1, tzinfo=UTC))
    assert [job.id for job in scheduler.get_jobs()] == [JOB_SYNC]


def test_missed_night_is_found_within_the_grace_and_only_if_not_done(engine: Any) -> None:
    """04:00 Moscow after a night without a run: 02:30 is missed; done, or past the grace, it is not."""
    settings = parse_settings({}, source="test")
    night = datetime(2024, 1, 1, 23, 30, tzinfo=UTC)
    four_am = datetime(2024, 1, 2, 1, 0, tzinfo=UTC)
    assert missed_runs(engine, settings, four_am) == {JOB_SYNC: night}
    assert missed_runs(engine, settings, datetime(2024, 1, 2, 6, 0, tzinfo=UTC)) == {}  # 6.5 h later
    run_id = ledger.claim(engine, JOB_SYNC, night, takeover_running=True)
    assert run_id is not None
    ledger.finish(engine, run_id, "failed", message="Moodle down")
    assert missed_runs(engine, settings, four_am) == {JOB_SYNC: night}  # a failed night runs again
    assert ledger.claim(engine, JOB_SYNC, night, takeover_running=True) == run_id
    ledger.finish(engine, run_id, "ok")
    assert missed_runs(engine, settings, four_am) == {}
    assert ledger.claim(engine, JOB_SYNC, night, takeover_running=True) is None


def test_a_missed_night_runs_once_when_the_scheduler_starts() -> None:
    """The scheduler started an hour after the sync time runs the job once, then waits for the next night."""
    calls: list[tuple[str, Any]] = []
    ran = threading.Event()

    def sync(path: str, **kw: Any) -> None:
        calls.append((path, kw))
        ran.set()

    an_hour_ago = datetime.now(MSK) - timedelta(hours=1)
    settings = parse_settings({"schedule": {"sync": f"{an_hour_ago.minute} {an_hour_ago.hour} * * *"}}, source="t")
    scheduler = build_scheduler(settings, "/etc/tracker.toml", scheduler_cls=BackgroundScheduler, jobs={JOB_SYNC: sync})
    scheduler.start()
    try:
        assert ran.wait(10), "the missed night did not run"
    finally:
        scheduler.shutdown(wait=True)
    assert len(calls) == 1 and calls[0][0] == "/etc/tracker.toml"


def _never_run(path: str, **kw: Any) -> None:
    raise AssertionError("a paused scheduler ran a job")


def test_a_missed_night_is_scheduled_now_and_then_the_next_night() -> None:
    """Before it starts, the missed night's job is due at the night it missed; the cron takes over after."""
    an_hour_ago = (datetime.now(MSK) - timedelta(hours=1)).replace(second=0, microsecond=0)
    settings = parse_settings({"schedule": {"sync": f"{an_hour_ago.minute} {an_hour_ago.hour} * * *"}}, source="t")
    scheduler = build_scheduler(settings, "c.toml", scheduler_cls=BackgroundScheduler, jobs={JOB_SYNC: _never_run})
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job(JOB_SYNC)
        assert job.next_run_time == an_hour_ago
        assert job.trigger.get_next_fire_time(None, datetime.now(MSK)) == an_hour_ago + timedelta(days=1)
    finally:
        scheduler.shutdown(wait=False)


def _due_an_hour_ago() -> dict[str, Any]:
    an_hour_ago = datetime.now(MSK) - timedelta(hours=1)
    return {"schedule": {"sync": f"{an_hour_ago.minute} {an_hour_ago.hour} * * *"}}


class _SignalWhileSubmitting(ThreadPoolExecutor):
    """SIGTERM arrives while the main thread, inside the scheduler, holds the thread pool's lock, as
    concurrent.futures holds it while it starts a worker for a due job (seen in CI: the daemon hung)."""

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        super()._do_submit_job(job, run_times)
        with self._pool._shutdown_lock:
            signal.raise_signal(signal.SIGTERM)  # its handler runs before this returns


def _daemon_signalled_inside_the_scheduler() -> None:
    """Run in a child process (signal handlers are the main thread's): the daemon's loop with that pool."""
    stop = StopFlag()

    def sync(path: str, *, should_stop: StopFlag) -> None:
        print("the night ran", flush=True)

    settings = parse_settings(_due_an_hour_ago(), source="t")
    scheduler = build_scheduler(settings, "c.toml", should_stop=stop, jobs={JOB_SYNC: sync})
    scheduler.add_executor(_SignalWhileSubmitting(), "default")  # before start: the one the daemon would create
    with stop_on_signals(stop):
        run_until_stopped(scheduler, stop)
    print(f"stopped by {stop.reason}", flush=True)


def test_sigterm_while_the_scheduler_submits_a_job_still_stops_the_daemon() -> None:
    """The signal handler only sets the flag; the shutdown, which takes the pool's lock, runs on its own thread."""
    child = subprocess.run(
        [sys.executable, "-c", "from tests.test_daemon import _daemon_signalled_inside_the_scheduler as d; d()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.splitlines() == ["the night ran", "stopped by SIGTERM"], child.stderr
    assert "Traceback" not in child.stderr


def test_a_job_due_as_the_daemon_stops_is_left_for_the_next_start(caplog: pytest.LogCaptureFixture) -> None:
    """Shut down between the scheduler's wake-up and its submission: nothing submitted to the shut pool, no
    error logged (with its traceback); the night stays unrun, so the next start runs it as missed."""
    scheduler = build_scheduler(
        parse_settings(_due_an_hour_ago(), source="t"),
        "c.toml",
        scheduler_cls=BackgroundScheduler,
        jobs={JOB_SYNC: _never_run},
    )
    scheduler.start(paused=True)
    caplog.clear()  # the missed night was announced; what follows is the stop
    caplog.set_level(logging.INFO)
    scheduler.shutdown(wait=True)  # what the daemon's stopping thread does
    scheduler._process_jobs()  # what the scheduler's own loop was about to do with the night that is due
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not any("submitting" in r.getMessage() or "Running job" in r.getMessage() for r in caplog.records)


def test_a_night_past_the_grace_is_not_run_on_start() -> None:
    """Started 8 hours after the sync time (grace 6 h), the scheduler's next run is the next night."""
    long_ago = (datetime.now(MSK) - timedelta(hours=8)).replace(second=0, microsecond=0)
    settings = parse_settings({"schedule": {"sync": f"{long_ago.minute} {long_ago.hour} * * *"}}, source="t")
    scheduler = build_scheduler(settings, "c.toml", scheduler_cls=BackgroundScheduler, jobs={JOB_SYNC: _never_run})
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job(JOB_SYNC).next_run_time == long_ago + timedelta(days=1)
    finally:
        scheduler.shutdown(wait=False)


def test_nightly_job_runs_once_per_night_and_renders_the_report(tmp_path: Path, db_url: str) -> None:
    """The first call syncs and renders; a second call for the same night (another daemon) does nothing."""
    from jobs.nightly import nightly_sync

    night = datetime(2024, 1, 1, 23, 30, tzinfo=UTC)
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        assert nightly_sync(config, night=night) == "ok"
        assert (tmp_path / "report" / "index.html").is_file()
        assert nightly_sync(config, night=night) == "done-already"
    engine = make_engine(db_url)
    with engine.connect() as connection:
        runs = connection.execute(select(func.count()).select_from(m.SyncRun)).scalar_one()
        job = connection.execute(select(m.JobRun)).one()
    assert canonical_snapshot(engine) == clean_run()[0]
    engine.dispose()
    assert runs == 1
    assert job.status == "ok" and job.sync_run_id == 1 and "report" not in job.message.split(";")[0]
    assert ledger.as_utc(job.logical_date) == night


def test_nightly_job_while_another_sync_runs_reports_busy(tmp_path: Path, engine: Any, db_url: str) -> None:
    """Another process (here a thread) holds the sync lock past the wait: the job returns "busy", writing nothing."""
    from jobs.nightly import nightly_sync

    config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url="http://127.0.0.1:9")
    with lock_held_elsewhere(engine):
        started = time.monotonic()
        assert nightly_sync(config, lock_wait_s=1.0) == "busy"
        assert time.monotonic() - started >= 1.0  # it waited before giving up
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(m.JobRun)).scalar_one() == 0


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} (INFO|WARNING|ERROR|CRITICAL|DEBUG) \[[\w-]+\] ")


class _Lines:
    """The child's stderr read by a thread, so that waiting for a line can time out."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(proc,), daemon=True)
        self._thread.start()

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, marker: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"{marker!r} not logged in {timeout} s:\n{''.join(self.seen)}") from None
            if line is None:
                raise AssertionError(f"the process ended before logging {marker!r}:\n{''.join(self.seen)}")
            self.seen.append(line)
            if marker in line:
                return

    def rest(self, timeout: float = 60) -> str:
        self._thread.join(timeout)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.seen.append(line)
        return "".join(self.seen)


def _daemon(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_args(config, "daemon"),
        env=cli_env(),
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )


def _stop(proc: subprocess.Popen[str], lines: _Lines) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return lines.rest()


def test_daemon_survives_sigterm_mid_run_and_a_restart_finishes_the_night(tmp_path: Path, db_url: str) -> None:
    """SIGTERM mid-sync: clean exit 0, night «interrupted»; the restarted daemon runs that night once; DB = clean run."""
    from connectors.demo.standin import CostModel

    an_hour_ago = datetime.now(MSK) - timedelta(hours=1)
    schedule = f'[schedule]\nsync = "{an_hour_ago.minute} {an_hour_ago.hour} * * *"\n'
    with standin(demo_world(), cost=CostModel(per_call_ms=40, per_user_ms=1)) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url, extra=schedule)
        first = _daemon(config)
        lines = _Lines(first)
        lines.wait_for("KU-2021-H2 записан")
        log = _stop(first, lines)
        assert first.returncode == 0, log
        assert "демон остановлен (SIGTERM)" in log
        engine = make_engine(db_url)
        with engine.connect() as connection:
            assert connection.execute(select(m.JobRun.status)).scalar_one() == "interrupted"
        engine.dispose()

        second = _daemon(config)
        lines = _Lines(second)
        lines.wait_for("закончен: синхронизация #2 ok")
        log += _stop(second, lines)
        assert second.returncode == 0, log
    logged = [line for line in log.splitlines() if line.strip()]
    assert all(LOG_LINE.match(line) for line in logged), logged
    assert any("[nightly-sync]" in line for line in logged) and any("[daemon]" in line for line in logged)
    engine = make_engine(db_url)
    assert canonical_snapshot(engine) == clean_run()[0]
    with engine.connect() as connection:
        jobs = connection.execute(select(m.JobRun.status, m.JobRun.sync_run_id)).all()
        runs = connection.execute(select(m.SyncRun.status).order_by(m.SyncRun.id)).scalars().all()
    engine.dispose()
    assert [tuple(j) for j in jobs] == [("ok", 2)]
    assert runs == ["interrupted", "ok"]
    settings = load_settings(config)
    assert settings.schedule.sync.startswith(str(an_hour_ago.minute))
    assert (tmp_path / "report" / "index.html").is_file()


def test_district_emails_without_mail_configured_logs_and_sends_nothing(
    tmp_path: Path, engine: Any, db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No [mail] section: the job says so in the log and records no night."""
    from jobs.nightly import district_emails

    config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url="http://127.0.0.1:9")
    assert district_emails(config) == "not-configured"
    assert "почта не настроена: добавьте раздел [mail]" in caplog.text
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(m.JobRun)).scalar_one() == 0


def test_district_emails_call_send_all_once_per_scheduled_date(tmp_path: Path, engine: Any, db_url: str) -> None:
    """With mail configured, the send runs once per date; held messages and failures are recorded."""
    from intensive_tracker.app import App
    from intensive_tracker.mail import MessageResult, SendReport
    from jobs.nightly import district_emails

    sent: list[App] = []

    def send(app: App) -> SendReport:
        sent.append(app)
        if len(sent) == 2:
            raise RuntimeError("SMTP 421")
        held = MessageResult(
            outbox_id=58, district="Коломна", program_key="ku", period="2023/24", state="uncertain", action="held"
        )
        delivered = [
            MessageResult(
                outbox_id=i, district=f"округ {i}", program_key="ku", period="2023/24", state="sent", action="sent-now"
            )
            for i in range(57)
        ]
        return SendReport(results=[*delivered, held])

    mail = '[mail]\nsmtp_host = "127.0.0.1"\nfrom_address = "lab@test.invalid"\n'
    config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url="http://127.0.0.1:9", extra=mail)
    first, second = datetime(2024, 2, 1, 6, 0, tzinfo=UTC), datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
    assert district_emails(config, night=first, send=send) == "sent"
    assert district_emails(config, night=first, send=send) == "done-already"
    with pytest.raises(RuntimeError):
        district_emails(config, night=second, send=send)
    assert len(sent) == 2 and sent[0].settings.mail is not None
    with engine.connect() as connection:
        rows = connection.execute(select(m.JobRun.status, m.JobRun.message).order_by(m.JobRun.id)).all()
    assert [tuple(r) for r in rows] == [
        ("problems", "доставлено 57; состояния писем этого запуска: sent 57, uncertain 1"),
        ("failed", "RuntimeError: SMTP 421"),
    ]


def test_nightly_job_waits_out_a_manual_sync_then_runs(tmp_path: Path, engine: Any, db_url: str) -> None:
    """A manual sync holding the lock at 02:30 delays the nightly run; it runs once the lock is free."""
    from jobs.nightly import nightly_sync

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with sync_lock(engine):
            held.set()
            release.wait(10)

    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(5)
        threading.Timer(0.5, release.set).start()
        try:
            assert nightly_sync(config, lock_wait_s=30) == "ok"
        finally:
            release.set()
            holder.join()
    with engine.connect() as connection:
        assert connection.execute(select(m.JobRun.status)).scalar_one() == "ok"


def test_a_night_left_running_by_a_killed_daemon_is_taken_over(tmp_path: Path, engine: Any, db_url: str) -> None:
    """job_run says «running» but nobody holds the lock (kill -9): the next run of that night takes it over."""
    from jobs.nightly import nightly_sync

    night = datetime(2024, 1, 1, 23, 30, tzinfo=UTC)
    dead = ledger.claim(engine, JOB_SYNC, night, takeover_running=False)
    assert dead is not None
    assert missed_runs(engine, parse_settings({}, source="t"), datetime(2024, 1, 2, 1, 0, tzinfo=UTC)) == {
        JOB_SYNC: night
    }
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        assert nightly_sync(config, night=night) == "ok"
    with engine.connect() as connection:
        row = connection.execute(select(m.JobRun)).one()
    assert (row.id, row.status, row.sync_run_id) == (dead, "ok", 1)  # the same ledger row, not a second one
    assert row.message.startswith("синхронизация #1 ok")
    assert canonical_snapshot(engine) == clean_run()[0]
