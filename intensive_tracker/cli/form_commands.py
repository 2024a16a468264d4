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
from intensive_tracker.cli.context import Context, TrackerArgument, cli
from intensive_tracker.cli.form_output import file_results, print_data_quality, print_file_results, print_quality
from intensive_tracker.cli.sync_commands import sync_exit_code
from intensive_tracker.config import Settings
from intensive_tracker.errors import ConfigError, InputError
from intensive_tracker.i18n import N_, _
from intensive_tracker.redact import redact
from intensive_tracker.reports.dataquality import build_data_quality
from intensive_tracker.reports.quality_json import quality_json

# Checklist items: their names are values of `check --json` (a contract), English in every language.
CONFIGURATION = "configuration"
TOKEN = "token"
CONNECTION = "Moodle connection settings"  # not a message: a JSON value


@cli.command(
    help=N_(
        "Проверить конфигурацию, Moodle, токен, функции сервиса, курсы, элементы курсов и поля профиля; "
        "ничего не меняет.\n\n"
        "По строке на пункт: ✔ или ✘ (! — предупреждение). Код выхода 0, только если все пункты в порядке, "
        "иначе код самой серьёзной неудачи: 69 Moodle недоступен, 77 токен, функция или право, "
        "78 конфигурация, 65 данные."
    )
)
@click.option("--json", "as_json", is_flag=True, help=N_("Напечатать список проверок в stdout в формате JSON."))
@click.pass_obj
def check(obj: Context, as_json: bool) -> None:
    checklist = Checklist()
    try:
        settings = obj.settings
    except ConfigError as error:
        checklist.fail(CONFIGURATION, redact(str(error)), exit_code=error.exit_code)
    else:
        _check_moodle(checklist, settings, obj.config_path)
    if as_json:
        click.echo(json.dumps(checklist.as_json(), ensure_ascii=False, indent=2))
    else:
        colors = {"ok": "green", "fail": "red", "warn": "yellow"}
        for status, text in lines(checklist):
            click.secho(text, fg=colors[status])
        click.echo(
            _("Всё в порядке.")
            if checklist.passed
            else _("Есть проблемы: код выхода {code}.", code=checklist.exit_code)
        )
    sys.exit(checklist.exit_code)


def _check_moodle(checklist: Checklist, settings: Settings, config_path: Path) -> None:
    """One verdict per item: the file, then the token, then what Moodle answers."""
    if settings.moodle is None:
        checklist.fail(
            "configuration", _("{path}: в конфигурации нет раздела [moodle]", path=config_path), exit_code=78
        )
        return
    checklist.ok(CONFIGURATION, _("{path}: в порядке", path=config_path))
    if not settings.moodle.standin:
        try:
            settings.moodle.token()
        except ConfigError as error:
            checklist.fail(TOKEN, redact(str(error)), exit_code=error.exit_code)
            return
    try:
        with moodle_client(settings) as client:
            found = run_check(settings, client)
    except ConfigError as error:
        checklist.fail(CONNECTION, redact(str(error)), exit_code=error.exit_code)
        return
    checklist.items += found.items
    checklist.site = found.site


@cli.command(
    "import-form",
    help=N_(
        "Импортировать файлы формы ИМЯ сейчас (или только ФАЙЛ); перечислить отклонённые строки; "
        "код выхода 65, если такие есть."
    ),
)
@click.argument("name", cls=TrackerArgument, metavar=N_("ИМЯ"))
@click.argument(
    "file",
    cls=TrackerArgument,
    metavar=N_("[ФАЙЛ]"),
    required=False,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
)
@click.pass_obj
def import_form(obj: Context, name: str, file: Path | None) -> None:
    settings = obj.settings
    form = find_form(settings, name)
    connector = FormsConnector(settings, only=name, file=file)
    if file is None and not form_files(form):
        raise InputError(
            _(
                "форма {name}: ни один файл не подходит под {where}; положите выгрузку туда "
                "или укажите её: intensive-tracker import-form {name} ФАЙЛ",
                name=name,
                where=form.files or form.inbox,
            )
        )
    report = obj.app.sync_sources(trigger="import-form", connectors=[connector])
    print_file_results(file_results(obj.app.engine, connector.seen))
    for w in report.warnings[:20]:
        obj.warn(_("Предупреждение: {message}", message=w.get("message")))
    if len(report.warnings) > 20:
        obj.warn(_("… и ещё предупреждений: {n} (все в журнале запуска)", n=len(report.warnings) - 20))
    for e in report.errors:
        click.echo(_("Ошибка: {message}", message=e["message"]), err=True)
    sys.exit(sync_exit_code(report))


@cli.command(
    "data-quality",
    help=N_(
        "Что проверить в импорте форм: файлы, отклонённые строки, вероятные совпадения, "
        "строки, исчезнувшие из исправленных файлов."
    ),
)
@click.option("--form", "form_name", metavar=N_("ИМЯ"), help=N_("Только эта форма."))
@click.option("--json", "as_json", is_flag=True, help=N_("Вывод для программ (JSON, даты ISO)."))
@click.pass_obj
def data_quality(obj: Context, form_name: str | None, as_json: bool) -> None:
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
