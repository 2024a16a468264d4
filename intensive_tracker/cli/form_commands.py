"""`import-form`, `data-quality` and `check`: bring in a form export now, see what to fix, check the Moodle setup."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from connectors.forms import FormsConnector, find_form, form_files
from connectors.moodle.check import run_check
from connectors.moodle.checklist import Checklist, lines
from connectors.moodle.factory import moodle_client
from intensive_tracker.cli.context import Context, cli
from intensive_tracker.cli.form_output import file_results, print_data_quality, print_file_results, print_quality
from intensive_tracker.cli.sync_commands import sync_exit_code
from intensive_tracker.config import Settings
from intensive_tracker.errors import ConfigError, InputError
from intensive_tracker.redact import redact
from intensive_tracker.reports.dataquality import build_data_quality
from intensive_tracker.reports.quality_json import quality_json


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checklist as JSON on stdout.")
@click.pass_obj
def check(obj: Context, as_json: bool) -> None:
    """Check config, Moodle, token, service functions, courses, activities and profile fields; never writes.

    One line per item, ✔ or ✘ (! for a warning). Exit 0 only when every item passes, else the code
    of the most severe failure: 69 unreachable, 77 token/function/capability, 78 configuration, 65 data.
    """
    checklist = Checklist()
    try:
        settings = obj.settings
    except ConfigError as error:
        checklist.fail("configuration", redact(str(error)), exit_code=error.exit_code)
    else:
        _check_moodle(checklist, settings, obj.config_path)
    if as_json:
        click.echo(json.dumps(checklist.as_json(), ensure_ascii=False, indent=2))
    else:
        colors = {"ok": "green", "fail": "red", "warn": "yellow"}
        for status, text in lines(checklist):
            click.secho(text, fg=colors[status])
        click.echo("Всё в порядке." if checklist.passed else f"Есть проблемы: код выхода {checklist.exit_code}.")
    sys.exit(checklist.exit_code)


def _check_moodle(checklist: Checklist, settings: Settings, config_path: Path) -> None:
    """One verdict per item: the file, then the token, then what Moodle answers."""
    if settings.moodle is None:
        checklist.fail("configuration", f"{config_path}: the config has no [moodle] section", exit_code=78)
        return
    checklist.ok("configuration", f"{config_path}: valid")
    if not settings.moodle.standin:
        try:
            settings.moodle.token()
        except ConfigError as error:
            checklist.fail("token", redact(str(error)), exit_code=error.exit_code)
            return
    try:
        with moodle_client(settings) as client:
            found = run_check(settings, client)
    except ConfigError as error:
        checklist.fail("Moodle connection settings", redact(str(error)), exit_code=error.exit_code)
        return
    checklist.items += found.items
    checklist.site = found.site


@cli.command("import-form")
@click.argument("name")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_obj
def import_form(obj: Context, name: str, file: Path | None) -> None:
    """Import the files of form NAME now (or just FILE); list every rejected row; exit 65 if any."""
    settings = obj.settings
    form = find_form(settings, name)
    connector = FormsConnector(settings, only=name, file=file)
    if file is None and not form_files(form):
        raise InputError(
            f"form {name}: no file matches {form.files or form.inbox}; put the export there "
            f"or name it: intensive-tracker import-form {name} FILE"
        )
    report = obj.app.sync_sources(trigger="import-form", connectors=[connector])
    print_file_results(file_results(obj.app.engine, connector.seen))
    for w in report.warnings[:20]:
        obj.warn(f"Предупреждение: {w.get('message')}")
    if len(report.warnings) > 20:
        obj.warn(f"… и ещё предупреждений: {len(report.warnings) - 20} (все в журнале запуска)")
    for e in report.errors:
        click.echo(f"Ошибка: {e['message']}", err=True)
    sys.exit(sync_exit_code(report))


@cli.command("data-quality")
@click.option("--form", "form_name", help="Only this form.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (ISO dates).")
@click.pass_obj
def data_quality(obj: Context, form_name: str | None, as_json: bool) -> None:
    """Form imports to review: files, rejected rows, probable matches, rows dropped by corrected files."""
    settings = obj.settings
    if form_name is not None:
        find_form(settings, form_name)
    quality = obj.app.quality()  # the report quality.html shows: one model for the page and this command
    forms = quality.forms if form_name is None else build_data_quality(obj.app.engine, obj.app.registry, form=form_name)
    if as_json:
        data = forms.as_json()
        if form_name is None:  # added keys: the page's counts and items, as in quality.json
            page = quality_json(quality)
            data.update(to_fix=page["to_fix"], items=page["items"])
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if form_name is None:
        print_quality(quality)
    print_data_quality(forms, settings.tz, narrowed=form_name is not None)
