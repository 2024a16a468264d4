"""`annual-report`: the methodist's annual analytic report, drafted as an editable Word document."""

from __future__ import annotations

import re
from pathlib import Path

import click

from intensive_tracker.cli.context import Context, cli
from intensive_tracker.i18n import N_, _


@cli.command(
    "annual-report",
    help=N_("Написать годовой аналитический отчёт: черновик по данным в редактируемом документе Word."),
)
@click.option(
    "--year",
    metavar=N_("ГОД"),
    help=N_("Учебный год, например 2023/24 (по умолчанию: report.school_year, иначе последний с занятиями)."),
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar=N_("ФАЙЛ"),
    help=N_("Файл Word (по умолчанию: annual-report-<год>.docx в текущей папке)."),
)
@click.option(
    "--template",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar=N_("ФАЙЛ"),
    help=N_("Документ Word методиста, с которого начать (по умолчанию: report.annual_template из конфигурации)."),
)
@click.pass_obj
def annual_report(obj: Context, year: str | None, out: Path | None, template: Path | None) -> None:
    if year is not None and not re.fullmatch(r"\d{4}/\d{2}", year):
        raise click.UsageError(_("--year {year!r}: учебный год пишется так: 2023/24", year=year))
    click.echo(str(obj.app.write_annual_report(year=year, out=out, template=template)))
