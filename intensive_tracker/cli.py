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
from intensive_tracker.districts import Registry, registry_from_settings
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
        return registry_from_settings(self.settings)


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

    from intensive_tracker.quality import write_quality
    from intensive_tracker.render import render_site
    from intensive_tracker.reports import build_summary
    from intensive_tracker.db import transaction
    from intensive_tracker.sync import refresh_districts

    settings = obj.settings
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    registry = obj.registry()
    with transaction(engine) as session:
        refresh_districts(session, registry)
    tz = ZoneInfo(settings.timezone)
    summary = build_summary(engine, registry, tz=tz, now=datetime.now(tz), school_year=settings.report.school_year)
    out_dir = out or _relative_to_config(obj, Path(settings.report.out_dir))
    from intensive_tracker.annual_report import write_beside_site
    from intensive_tracker.site import site_rosters

    annual = write_beside_site(summary, out_dir, enabled=settings.report.annual_docx,
                               school_year=settings.report.school_year, template=_annual_template(obj, None))
    index = render_site(summary, out_dir, rosters=site_rosters(engine, registry, summary),
                        context={"annual_docx": annual})
    write_quality(engine, registry, settings, summary.generated_at, out_dir)  # quality.html beside index.html
    return index


def _relative_to_config(obj: Context, path: Path) -> Path:
    return path if path.is_absolute() else obj.config_path.resolve().parent / path


def _annual_template(obj: Context, given: Path | None) -> Path | None:
    configured = obj.settings.report.annual_template
    return given or (_relative_to_config(obj, Path(configured)) if configured else None)


@cli.command()
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Folder to write (default: report.out_dir of the config).")
@click.pass_obj
def report(obj: Context, out: Path | None) -> None:
    """Render the HTML report and summary.json from the database."""
    index = _report(obj, out)
    click.echo(str(index))


@cli.command("annual-report")
@click.option("--year", help="School year, e.g. 2023/24 (default: report.school_year, else the latest with sessions).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Word file to write (default: annual-report-<year>.docx in the current folder).")
@click.option("--template", type=click.Path(path_type=Path, dir_okay=False),
              help="Her Word document to start from (default: report.annual_template of the config).")
@click.pass_obj
def annual_report(obj: Context, year: str | None, out: Path | None, template: Path | None) -> None:
    """Write the annual analytic report as an editable Word document drafted from the records."""
    import re
    from zoneinfo import ZoneInfo

    from intensive_tracker.annual_report import open_template, report_year, write_annual_report
    from intensive_tracker.reports import build_summary

    if year is not None and not re.fullmatch(r"\d{4}/\d{2}", year):
        raise click.UsageError(f"--year {year!r}: write the school year as 2023/24")
    settings = obj.settings
    template = _annual_template(obj, template)
    if template is not None:
        open_template(template)  # a bad template is named before the database is read
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    tz = ZoneInfo(settings.timezone)
    summary = build_summary(engine, obj.registry(), tz=tz, now=datetime.now(tz), school_year=settings.report.school_year)
    year = year or report_year(summary, settings.report.school_year)
    path = out or Path(f"annual-report-{(year or 'без-данных').replace('/', '-')}.docx")
    write_annual_report(summary, path, school_year=year, template=template)
    click.echo(str(path))


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


@cli.command("email")
@click.option("--preview", "mode", flag_value="preview", help="Write every message as .eml plus index.html; send nothing.")
@click.option("--send", "mode", flag_value="send", help="Send the due messages through the outbox (each one once).")
@click.option("--resend", "resend_id", type=int, metavar="ID", help="Send outbox message ID again (after a person decided).")
@click.option("--status", "mode", flag_value="status", help="List the outbox: every message and its state.")
@click.option("--outbox", "outbox_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for --preview (default: mail.preview_dir of the config).")
@click.option("--district", help="Only this district (any spelling the registry knows; «не распределены» too).")
@click.option("--program", help="Only this program key (default: mail.program, else every program).")
@click.option("--period", help="School year, e.g. 2023/24 (default: mail.period, else each program's latest).")
@click.pass_obj
def email(obj: Context, mode: str | None, resend_id: int | None, outbox_dir: Path | None, district: str | None,
          program: str | None, period: str | None) -> None:
    """Per-district emails «участники-итоги»: --preview, --send, --resend ID or --status."""
    import re

    from intensive_tracker import mail

    if (mode is None) == (resend_id is None):
        raise click.UsageError("give exactly one of --preview, --send, --resend ID, --status")
    if period is not None and not re.fullmatch(r"\d{4}/\d{2}", period):
        raise click.UsageError(f"--period {period!r}: write the school year as 2023/24")
    settings = obj.settings
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    if mode == "status":
        _print_outbox(engine, settings.tz)
        return
    mail.plan.mail_settings(settings)
    registry = obj.registry()
    if mode == "preview":
        out_dir = outbox_dir or _relative_to_config(obj, Path(settings.mail.preview_dir))  # type: ignore[union-attr]
        preview = mail.preview_all(settings, engine, registry, out_dir=out_dir, program=program, period=period,
                                   district=district)
        for w in preview.warnings:
            click.echo(f"предупреждение: {w}", err=True)
        for item in preview.items:
            click.echo(f"{item.file}: {item.mail.district_label}, {item.mail.program_key} {item.mail.period}, "
                       f"строк {len(item.mail.rows)} → {', '.join(item.mail.recipients)} [{item.note}]", err=True)
        click.echo(str(preview.index.resolve()))
        return
    if resend_id is not None:
        result = mail.resend(settings, engine, registry, resend_id)
    else:
        result = mail.send_all(settings, engine, registry, program=program, period=period, district=district)
    for w in result.warnings:
        click.echo(f"предупреждение: {w}", err=True)
    for r in result.results:
        if r.action == "skipped" and r.state == "sent" and not r.changed_since_sent:
            continue
        changed = "; изменилось после отправки (email --resend ID)" if r.changed_since_sent else ""
        refused = f"; отказ для {', '.join(r.refused)}" if r.refused else ""
        click.echo(f"  #{r.outbox_id} {r.district} {r.program_key} {r.period}: {r.state}"
                   f"{f' ({r.reason})' if r.reason and r.state != 'sent' else ''}{refused}{changed}")
    states = ", ".join(f"{k}: {v}" for k, v in sorted(result.states.items())) or "нет писем"
    click.echo(f"Отправлено сейчас: {result.delivered}. Итог по выборке: {states}.")
    sys.exit(result.exit_code)


def _print_outbox(engine: Any, tz: Any) -> None:
    from intensive_tracker.mail import outbox
    from intensive_tracker.periods import local

    rows = outbox.all_rows(engine)
    if not rows:
        click.echo("Outbox пуст: писем ещё не было.")
    for row in rows:
        when = local(row.sent_at, tz).strftime("%d.%m.%y %H:%M") if row.sent_at else "—"
        refused = f"; отказ: {', '.join(row.refused)}" if row.refused else ""
        error = f"; {row.last_error}" if row.last_error and row.state != "sent" else ""
        click.echo(f"#{row.id} {row.district} {row.program_key} {row.period}: {row.state} "
                   f"(попыток {row.attempts}, строк {row.row_count}, отправлено {when}){refused}{error}")

@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checklist as JSON on stdout.")
@click.pass_obj
def check(obj: Context, as_json: bool) -> None:
    """Check config, Moodle, token, service functions, courses, activities and profile fields; never writes.

    One line per item, ✔ or ✘ (! for a warning). Exit 0 only when every item passes, else the code
    of the most severe failure: 69 unreachable, 77 token/function/capability, 78 configuration, 65 data.
    """
    import json as json_module

    from intensive_tracker.check import Checklist, lines, run_check
    from intensive_tracker.errors import ConfigError
    from intensive_tracker.sources import moodle_client

    checklist = Checklist()
    try:
        settings = obj.settings
        checklist.ok("configuration", f"{obj.config_path}: valid")
        if settings.moodle is None:
            raise ConfigError("the config has no [moodle] section")
        with moodle_client(settings) as client:
            found = run_check(settings, client)
        checklist.items += found.items
        checklist.site = found.site
    except ConfigError as error:
        from intensive_tracker.redact import redact

        checklist.fail("configuration", redact(str(error)), exit_code=error.exit_code)
    if as_json:
        click.echo(json_module.dumps(checklist.as_json(), ensure_ascii=False, indent=2))
    else:
        colors = {"ok": "green", "fail": "red", "warn": "yellow"}
        for status, text in lines(checklist):
            click.secho(text, fg=colors[status])
        click.echo("Всё в порядке." if checklist.passed else f"Есть проблемы: код выхода {checklist.exit_code}.")
    sys.exit(checklist.exit_code)

@cli.command("import-form")
@click.argument("name")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_obj
def import_form(obj: Context, name: str, file: Path | None) -> None:
    """Import the files of form NAME now (or just FILE); list every rejected row; exit 65 if any."""
    from connectors.forms import FormsConnector, find_form, form_files
    from intensive_tracker.errors import InputError
    from intensive_tracker.formimport import file_results, print_file_results
    from intensive_tracker.sync import run_sync

    settings = obj.settings
    form = find_form(settings, name)
    connector = FormsConnector(settings, only=name, file=file)
    if file is None and not form_files(form):
        raise InputError(f"form {name}: no file matches {form.files or form.inbox}; put the export there "
                         f"or name it: intensive-tracker import-form {name} FILE")
    engine = make_engine(settings.database_url)
    report = run_sync(engine, settings, obj.registry(), [connector], trigger="import-form")
    print_file_results(file_results(engine, connector.seen))
    for w in report.warnings[:20]:
        click.echo(f"Предупреждение: {w.get('message')}", err=True)
    if len(report.warnings) > 20:
        click.echo(f"… и ещё предупреждений: {len(report.warnings) - 20} (все в журнале запуска)", err=True)
    for e in report.errors:
        click.echo(f"Ошибка: {e['message']}", err=True)
    sys.exit(_exit_code(report))


@cli.command("data-quality")
@click.option("--form", "form_name", help="Only this form.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (ISO dates).")
@click.pass_obj
def data_quality(obj: Context, form_name: str | None, as_json: bool) -> None:
    """Form imports to review: files, rejected rows, probable matches, rows dropped by corrected files."""
    import json

    from intensive_tracker.dataquality import build_data_quality
    from intensive_tracker.formimport import print_data_quality

    settings = obj.settings
    if form_name is not None:
        from connectors.forms import find_form

        find_form(settings, form_name)
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    result = build_data_quality(engine, obj.registry(), form=form_name)
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        print_data_quality(result, settings.tz)

@cli.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False),
              help="Report folder to serve (default: report.out_dir of the config).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.pass_obj
def serve(obj: Context, directory: Path | None, port: int) -> None:
    """Serve the report folder on 127.0.0.1 for viewing in a browser; Ctrl+C stops."""
    from intensive_tracker.serve import make_server

    folder = directory or _relative_to_config(obj, Path(obj.settings.report.out_dir))
    try:
        server = make_server(folder, port=port)
    except OSError as e:
        from intensive_tracker.errors import ConfigError

        raise ConfigError(f"port {port} on 127.0.0.1: {e.strerror}; choose another with --port") from None
    host, bound = server.server_address[:2]
    click.echo(f"http://{host}:{bound}/index.html")
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
