"""`sync`, `report` and `demo`: bring the database up to date and render the methodist's report."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import click

from connectors.demo.playground import write_demo_config
from intensive_tracker.cli.context import Context, cli, log
from intensive_tracker.i18n import N_, _, number
from intensive_tracker.ops.progress import CohortProgress, wants_progress
from intensive_tracker.ops.shutdown import StopFlag, stop_on_signals
from intensive_tracker.people.vocabulary import RUN_STATUS_LABELS
from intensive_tracker.store.errors import database_label
from intensive_tracker.sync.state import ENTITY_LABELS, SyncReport


def command_to_type() -> str:
    """How a person runs this program again from their shell: the bare name only if it is on PATH.

    `make demo` runs `.venv/bin/intensive-tracker`, which is not on PATH until the venv is activated.
    """
    here = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if here is not None and here.name == "intensive-tracker" and here.exists():
        found = shutil.which("intensive-tracker")
        if found and Path(found).resolve() == here.resolve():
            return "intensive-tracker"
        return shlex.quote(str(here.absolute()))
    return f"{shlex.quote(sys.executable)} -m intensive_tracker"


SHOWN_WARNINGS = 20


def run_sync_with_progress(
    obj: Context, *, trigger: str = "manual", should_stop: StopFlag | None = None, full: bool = False
) -> SyncReport:
    """The sync of every source, with a progress bar per cohort on a terminal."""
    settings = obj.settings
    with CohortProgress(len(settings.cohorts), enabled=wants_progress(quiet=obj.quiet)) as bar:

        def written(source: str, key: str) -> None:
            bar.advance(key) if bar.active else log.info(_("{source}: {key} записан", source=source, key=key))

        return obj.app.sync_sources(
            trigger=trigger,
            on_batch=written,
            on_failure=lambda source, key: bar.advance(key, failed=True),
            should_stop=should_stop,
            full=full,
        )


def print_sync(report: SyncReport, *, quiet: bool = False) -> None:
    """What a sync did, per entity, then its warnings and errors (with --quiet: the errors only)."""
    if not quiet:
        _print_counts(report)
    for e in report.errors:
        where = " ".join(x for x in (e.get("source"), e.get("cohort")) if x)
        click.echo(_("Ошибка ({where}): {message}", where=where, message=e["message"]), err=True)


def _print_counts(report: SyncReport) -> None:
    c = report.counts
    click.echo(
        _(
            "Синхронизация #{run}: {status}. Когорт: {ok} записано, {failed} с ошибкой.",
            run=report.run_id,
            status=_(RUN_STATUS_LABELS[report.status]),
            ok=report.cohorts_ok,
            failed=report.cohorts_failed,
        )
    )
    for entity in ("participants", "accounts", "enrolments", "sessions", "attendance", "defenses"):
        x = c[entity]
        if not x["inserted"] + x["updated"] + x["unchanged"]:
            continue  # nothing of it was fetched or compared (finished cohorts, unchanged fingerprints)
        click.echo(
            _(
                "  {entity}: +{inserted} новых, {updated} изменено, {unchanged} без изменений",
                entity=_(ENTITY_LABELS[entity]),
                inserted=number(x["inserted"]),
                updated=number(x["updated"]),
                unchanged=number(x["unchanged"]),
            )
        )
    if report.marked_missing:
        click.echo(_("  отмечено как исчезнувшие из источника: {n}", n=report.marked_missing))
    modes = {m: [r for r in report.refresh if r["mode"] == m] for m in ("full", "incremental", "skipped")}
    if report.refresh:
        click.echo(
            _(
                "  когорты: полностью {full}, только новые оценки {incremental}, "
                "пропущено {skipped} (завершены, запросов к Moodle нет)",
                full=len(modes["full"]),
                incremental=len(modes["incremental"]),
                skipped=len(modes["skipped"]),
            )
        )
    if report.skipped_parts:
        click.echo(
            _(
                "  частей когорт без изменений (отпечаток совпал, строки не сравнивались): {n}",
                n=report.skipped_parts,
            )
        )
    if report.rows_written == 0 and report.status == "ok":
        click.echo(_("  Изменений нет: база не менялась."))
    for w in report.warnings[:SHOWN_WARNINGS]:
        click.echo(
            _("  предупреждение: {cohort} {message}", cohort=w.get("cohort") or "", message=w.get("message")), err=True
        )
    if len(report.warnings) > SHOWN_WARNINGS:  # a capped list says how much it left out (issue 12)
        click.echo(_("  и ещё {n}", n=len(report.warnings) - SHOWN_WARNINGS), err=True)


def sync_exit_code(report: SyncReport) -> int:
    """0 ok; 75 stopped on request (run again to finish); else the first error's code."""
    if report.status == "ok":
        return 0
    if report.status == "interrupted":
        return 75  # EX_TEMPFAIL
    return int(report.errors[0].get("exit_code", 1)) if report.errors else 1


@cli.command(
    help=N_(
        "Синхронизировать все настроенные источники с базой "
        "(SIGTERM: остановиться после текущей когорты, код выхода 75)."
    )
)
@click.option(
    "--full",
    is_flag=True,
    help=N_("Заново загрузить каждую когорту целиком и сравнить каждую строку, завершена она или нет."),
)
@click.pass_obj
def sync(obj: Context, full: bool) -> None:
    with stop_on_signals(StopFlag()) as stop:
        report = run_sync_with_progress(obj, should_stop=stop, full=full)
        # Inside the block: a second Ctrl-C while the summary prints still stops at once (not click's «Aborted!»).
        print_sync(report, quiet=obj.quiet)
    sys.exit(sync_exit_code(report))


@cli.command(help=N_("Построить HTML-отчёт и summary.json по базе."))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    metavar=N_("ПАПКА"),
    help=N_("Папка для отчёта (по умолчанию: report.out_dir из конфигурации)."),
)
@click.pass_obj
def report(obj: Context, out: Path | None) -> None:
    click.echo(str(obj.app.publish_report(out)))


@cli.command(
    help=N_("Синхронизировать встроенный демо-Moodle в SQLite, построить отчёт и напечатать путь к index.html.")
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("out/demo"),
    show_default=True,
    metavar=N_("ПАПКА"),
    help=N_("Папка демо: config.toml, tracker.db и report/."),
)
@click.pass_obj
def demo(obj: Context, out: Path) -> None:
    config_path = write_demo_config(out)
    obj.use(config_path)
    sync_report = run_sync_with_progress(obj)
    if sync_report.status != "ok":
        print_sync(sync_report, quiet=obj.quiet)
        sys.exit(sync_exit_code(sync_report))
    index = obj.app.publish_report()
    if not obj.quiet:
        click.echo(
            _("Демо: {database}; конфигурация {config}", database=database_label(obj.app.engine), config=config_path),
            err=True,
        )
        click.echo(
            _("Попробуйте: {command} --config {config} status", command=command_to_type(), config=config_path), err=True
        )
    click.echo(str(index.resolve()))
