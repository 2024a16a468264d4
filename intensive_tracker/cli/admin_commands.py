"""`serve`, `db`, `status` and `daemon`: what the administrator runs on the server."""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import click
from apscheduler.schedulers import SchedulerNotRunningError

from intensive_tracker.cli.context import Context, cli, log
from intensive_tracker.errors import ConfigError
from intensive_tracker.logs import set_job
from intensive_tracker.ops.schedule import next_fire_times, schedule_zone
from intensive_tracker.ops.serve import make_server
from intensive_tracker.ops.shutdown import StopFlag, stop_on_signals
from intensive_tracker.ops.status import collect_status
from intensive_tracker.ops.status_text import render_text
from intensive_tracker.store.errors import database_label
from intensive_tracker.store.locks import sync_lock
from intensive_tracker.store.schema import ensure_schema, schema_heads, upgrade
from jobs.scheduler import build_scheduler


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Report folder to serve (default: report.out_dir of the config).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@click.pass_obj
def serve(obj: Context, directory: Path | None, port: int) -> None:
    """Serve the report folder on 127.0.0.1 for viewing in a browser; Ctrl+C stops."""
    folder = directory or obj.app.relative_to_config(Path(obj.settings.report.out_dir))
    try:
        server = make_server(folder, port=port)
    except OSError as e:
        raise ConfigError(f"port {port} on 127.0.0.1: {e.strerror}; choose another with --port") from None
    host, bound = server.server_address[:2]
    click.echo(f"http://{host!s}:{bound}/index.html")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@cli.group()
def db() -> None:
    """Database schema: upgrade it, or show where it stands."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj: Context) -> None:
    """Bring the schema to this release (never downgrades; sync, report and daemon do this too)."""
    engine = obj.app.engine
    with sync_lock(engine):  # never migrate under a running sync
        applied = upgrade(engine)
    if applied:
        click.echo(f"{database_label(engine)}: схема обновлена до {', '.join(applied)}")
    else:
        click.echo(f"{database_label(engine)}: схема актуальна")


@db.command("current")
@click.pass_obj
def db_current(obj: Context) -> None:
    """Print the schema revisions of the database and those of this release; exit 1 if behind."""
    current, heads = schema_heads(obj.app.engine)
    click.echo(f"база:     {', '.join(sorted(current)) or '(пусто)'}")
    click.echo(f"релиз:    {', '.join(sorted(heads))}")
    if current != heads:
        click.echo("Схема отстаёт: выполните intensive-tracker db upgrade", err=True)
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output for monitoring.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many runs to list.")
@click.pass_obj
def status(obj: Context, as_json: bool, limit: int) -> None:
    """The last runs, what failed last, the next scheduled times and the mail outbox (never writes)."""
    settings = obj.settings
    # Read-only: a monitor must not migrate the database; a schema behind is shown, not fixed.
    data = collect_status(obj.app.engine, settings, limit=limit)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else render_text(data))
    if data["database_error"]:  # the database cannot be read: said above, and the exit code says it too
        sys.exit(data["database_error"]["exit_code"])


@cli.command()
@click.pass_obj
def daemon(obj: Context) -> None:
    """Run the schedule ([schedule] of the config) until SIGTERM; a missed night runs once on start."""
    set_job("daemon")
    settings = obj.settings
    config_path = obj.config_path.resolve()
    ensure_schema(obj.app.engine)
    stop = StopFlag()
    scheduler = build_scheduler(settings, config_path, engine=obj.app.engine, should_stop=stop)
    obj.close()  # the jobs open their own App per night
    for job, when in next_fire_times(settings, datetime.now(UTC)).items():
        log.info("%s: next run %s", job, when.isoformat() if when else "never")

    def shut_down(attempt: int = 0) -> None:
        # wait=True: the running job sees the flag, commits its batch and returns first.
        try:
            scheduler.shutdown(wait=True)
        except SchedulerNotRunningError:
            # The signal came while the scheduler was still starting: stop it as soon as it runs.
            if attempt < 40:
                retry = threading.Timer(0.25, shut_down, kwargs={"attempt": attempt + 1})
                retry.daemon = True
                retry.start()

    with stop_on_signals(stop, then=shut_down):  # handlers first: a stop right after start is graceful too
        log.info("daemon started (pid %d, zone %s, config %s)", os.getpid(), schedule_zone(settings), config_path)
        if not stop():
            scheduler.start()
    log.info("daemon stopped (%s)", stop.reason or "scheduler ended")
