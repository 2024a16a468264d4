"""`annual-report`: the methodist's annual analytic report, drafted as an editable Word document."""

from __future__ import annotations

import re
from pathlib import Path

import click

from intensive_tracker.cli.context import Context, cli


@cli.command("annual-report")
@click.option("--year", help="School year, e.g. 2023/24 (default: report.school_year, else the latest with sessions).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Word file to write (default: annual-report-<year>.docx in the current folder).",
)
@click.option(
    "--template",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Her Word document to start from (default: report.annual_template of the config).",
)
@click.pass_obj
def annual_report(obj: Context, year: str | None, out: Path | None, template: Path | None) -> None:
    """Write the annual analytic report as an editable Word document drafted from the records."""
    if year is not None and not re.fullmatch(r"\d{4}/\d{2}", year):
        raise click.UsageError(f"--year {year!r}: write the school year as 2023/24")
    click.echo(str(obj.app.write_annual_report(year=year, out=out, template=template)))
