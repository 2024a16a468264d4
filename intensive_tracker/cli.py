"""The `intensive-tracker` command: verbs for administrators and scripts, sysexits exit codes."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from intensive_tracker import __version__
from intensive_tracker.config import Settings, load_settings, resolve_config_path
from intensive_tracker.db import database_label, ensure_schema, make_engine
from intensive_tracker.districts import Registry, load_registry
from intensive_tracker.errors import TrackerError

log = logging.getLogger("intensive_tracker")


class Context:
    """What every command gets: the config path, and the settings loaded on first use."""

    def __init__(self, config_path: Path | None, *, quiet: bool) -> None:
        self.explicit_config = config_path
        self.quiet = quiet
        self._settings: Settings | None = None

    @property
    def config_path(self) -> Path:
        return resolve_config_path(self.explicit_config)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    def use(self, path: Path) -> None:
        self.explicit_config = path
        self._settings = None

    def registry(self) -> Registry:
        return load_registry()


class TrackerGroup(click.Group):
    """Turns a TrackerError into its message on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as e:
            from intensive_tracker.redact import redact

            click.echo(f"Ошибка: {redact(str(e))}", err=True)
            ctx.exit(e.exit_code)


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Config file (default: $INTENSIVE_TRACKER_CONFIG, else ./config.toml).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr; no progress.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.version_option(__version__, prog_name="intensive-tracker")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, quiet: bool, verbose: bool) -> None:
    """Syncs the lab's Moodle intensives and renders the methodist's report."""
    from intensive_tracker.logs import setup_logging

    setup_logging(verbose=verbose, quiet=quiet)
    ctx.obj = Context(config_path, quiet=quiet)


def _sync(obj: Context, *, trigger: str = "manual", should_stop: "Any" = None) -> "Any":
    from intensive_tracker.progress import CohortProgress, wants_progress
    from intensive_tracker.sources import open_connectors
    from intensive_tracker.sync import run_sync

    settings = obj.settings
    engine = make_engine(settings.database_url)
    registry = obj.registry()
    with CohortProgress(len(settings.cohorts), enabled=wants_progress(quiet=obj.quiet)) as bar:
        def written(source: str, key: str) -> None:
            bar.advance(key) if bar.active else log.info("%s: %s записан", source, key)

        with open_connectors(settings) as connectors:
            report = run_sync(engine, settings, registry, connectors, trigger=trigger, on_batch=written,
                              on_failure=lambda source, key: bar.advance(key, failed=True),
                              should_stop=should_stop)
    return engine, report


def _print_sync(report: Any) -> None:
    c = report.counts
    label = {"ok": "успешно", "problems": "завершена с проблемами", "failed": "не выполнена",
             "interrupted": "прервана"}[report.status]
    click.echo(f"Синхронизация #{report.run_id}: {label}. Когорт: {report.cohorts_ok} записано, "
               f"{report.cohorts_failed} с ошибкой.")
    for entity in ("participants", "accounts", "enrolments", "sessions", "attendance", "defenses"):
        x = c[entity]
        click.echo(f"  {entity}: +{x['inserted']} новых, {x['updated']} изменено, {x['unchanged']} без изменений")
    if report.marked_missing:
        click.echo(f"  отмечено как исчезнувшие из источника: {report.marked_missing}")
    if report.rows_written == 0 and report.status == "ok":
        click.echo("  Изменений нет: база не менялась.")
    for w in report.warnings[:20]:
        click.echo(f"  предупреждение: {w.get('cohort') or ''} {w.get('message')}", err=True)
    for e in report.errors:
        where = " ".join(x for x in (e.get("source"), e.get("cohort")) if x)
        click.echo(f"Ошибка ({where}): {e['message']}", err=True)


def _exit_code(report: Any) -> int:
    if report.status == "ok":
        return 0
    if report.status == "interrupted":
        return 75  # EX_TEMPFAIL: stopped on request; run again to finish
    return int(report.errors[0].get("exit_code", 1)) if report.errors else 1


@cli.command()
@click.pass_obj
def sync(obj: Context) -> None:
    """Sync every configured source into the database (SIGTERM: stop after the current cohort, exit 75)."""
    from intensive_tracker.shutdown import StopFlag, stop_on_signals

    with stop_on_signals(StopFlag()) as stop:
        _, report = _sync(obj, should_stop=stop)
    _print_sync(report)
    sys.exit(_exit_code(report))


def _report(obj: Context, out: Path | None) -> Path:
    from zoneinfo import ZoneInfo

    from intensive_tracker.render import render_site
    from intensive_tracker.reports import build_summary
    from intensive_tracker.sync import refresh_participants
    from intensive_tracker.db import transaction

    settings = obj.settings
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    registry = obj.registry()
    with transaction(engine) as session:
        refresh_participants(session, registry, participant_ids=None)
    tz = ZoneInfo(settings.timezone)
    summary = build_summary(engine, registry, tz=tz, now=datetime.now(tz), school_year=settings.report.school_year)
    out_dir = out or _relative_to_config(obj, Path(settings.report.out_dir))
    return render_site(summary, out_dir)


def _relative_to_config(obj: Context, path: Path) -> Path:
    return path if path.is_absolute() else obj.config_path.resolve().parent / path


@cli.command()
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Folder to write (default: report.out_dir of the config).")
@click.pass_obj
def report(obj: Context, out: Path | None) -> None:
    """Render the HTML report and summary.json from the database."""
    index = _report(obj, out)
    click.echo(str(index))


@cli.command()
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("out/demo"), show_default=True,
              help="Playground folder: config.toml, tracker.db and report/.")
@click.pass_obj
def demo(obj: Context, out: Path) -> None:
    """Sync the built-in demo Moodle into SQLite, render the report, print where index.html is."""
    from intensive_tracker.demo import write_demo_config

    config_path = write_demo_config(out)
    obj.use(config_path)
    engine, sync_report = _sync(obj)
    if sync_report.status != "ok":
        _print_sync(sync_report)
        sys.exit(_exit_code(sync_report))
    index = _report(obj, None)
    if not obj.quiet:
        click.echo(f"Демо: {database_label(engine)}; конфигурация {config_path}", err=True)
        click.echo(f"Попробуйте: intensive-tracker --config {config_path} <команда>", err=True)
    click.echo(str(index.resolve()))


@cli.group()
def db() -> None:
    """Database schema: upgrade it, or show where it stands."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj: Context) -> None:
    """Bring the schema to this release (never downgrades; sync, report and daemon do this too)."""
    from intensive_tracker.db import upgrade
    from intensive_tracker.locks import sync_lock

    engine = make_engine(obj.settings.database_url)
    with sync_lock(engine):  # never migrate under a running sync
        applied = upgrade(engine)
    if applied:
        click.echo(f"{database_label(engine)}: схема обновлена до {', '.join(applied)}")
    else:
        click.echo(f"{database_label(engine)}: схема актуальна")
    engine.dispose()


@db.command("current")
@click.pass_obj
def db_current(obj: Context) -> None:
    """Print the schema revisions of the database and those of this release; exit 1 if behind."""
    from intensive_tracker.db import schema_heads

    engine = make_engine(obj.settings.database_url)
    current, heads = schema_heads(engine)
    engine.dispose()
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
    import json

    from intensive_tracker.status import collect_status, render_text

    settings = obj.settings
    engine = make_engine(settings.database_url)
    # Read-only: a monitor must not migrate the database; a schema behind is shown, not fixed.
    data = collect_status(engine, settings, limit=limit)
    engine.dispose()
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else render_text(data))


@cli.command()
@click.pass_obj
def daemon(obj: Context) -> None:
    """Run the schedule ([schedule] of the config) until SIGTERM; a missed night runs once on start."""
    from datetime import timezone

    from jobs.scheduler import build_scheduler, next_fire_times, schedule_zone
    from intensive_tracker.logs import set_job
    from intensive_tracker.shutdown import StopFlag, stop_on_signals

    set_job("daemon")
    settings = obj.settings
    config_path = obj.config_path.resolve()
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    stop = StopFlag()
    scheduler = build_scheduler(settings, config_path, engine=engine, should_stop=stop)
    engine.dispose()
    for job, when in next_fire_times(settings, datetime.now(timezone.utc)).items():
        log.info("%s: next run %s", job, when.isoformat() if when else "never")

    def shut_down() -> None:
        # wait=True: the running job sees the flag, commits its batch and returns first.
        scheduler.shutdown(wait=True)

    log.info("daemon started (pid %d, zone %s, config %s)", __import__("os").getpid(), schedule_zone(settings),
             config_path)
    with stop_on_signals(stop, then=shut_down):
        scheduler.start()
    log.info("daemon stopped (%s)", stop.reason or "scheduler ended")


def main() -> None:
    cli(prog_name="intensive-tracker")


if __name__ == "__main__":
    main()
