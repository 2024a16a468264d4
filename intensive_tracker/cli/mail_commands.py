"""`email`: the per-district e-mails «участники-итоги», previewed, sent once, resent on decision."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy.engine import Engine

from intensive_tracker import mail
from intensive_tracker.cli.context import Context, cli
from intensive_tracker.mail import outbox
from intensive_tracker.periods import local
from intensive_tracker.store.schema import ensure_schema


@cli.command("email")
@click.option(
    "--preview", "mode", flag_value="preview", help="Write every message as .eml plus index.html; send nothing."
)
@click.option("--send", "mode", flag_value="send", help="Send the due messages through the outbox (each one once).")
@click.option(
    "--resend", "resend_id", type=int, metavar="ID", help="Send outbox message ID again (after a person decided)."
)
@click.option("--status", "mode", flag_value="status", help="List the outbox: every message and its state.")
@click.option(
    "--outbox",
    "outbox_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for --preview (default: mail.preview_dir of the config).",
)
@click.option("--district", help="Only this district (any spelling the registry knows; «не распределены» too).")
@click.option("--program", help="Only this program key (default: mail.program, else every program).")
@click.option("--period", help="School year, e.g. 2023/24 (default: mail.period, else each program's latest).")
@click.pass_obj
def email(
    obj: Context,
    mode: str | None,
    resend_id: int | None,
    outbox_dir: Path | None,
    district: str | None,
    program: str | None,
    period: str | None,
) -> None:
    """Per-district emails «участники-итоги»: --preview, --send, --resend ID or --status."""
    if (mode is None) == (resend_id is None):
        raise click.UsageError("give exactly one of --preview, --send, --resend ID, --status")
    if period is not None and not re.fullmatch(r"\d{4}/\d{2}", period):
        raise click.UsageError(f"--period {period!r}: write the school year as 2023/24")
    settings = obj.settings
    engine = obj.app.engine
    ensure_schema(engine)
    if mode == "status":
        _print_outbox(engine, settings.tz)
        return
    mail.plan.mail_settings(settings)
    registry = obj.app.registry
    if mode == "preview":
        out_dir = outbox_dir or obj.app.relative_to_config(Path(settings.mail.preview_dir))  # type: ignore[union-attr]
        preview = mail.preview_all(
            settings, engine, registry, out_dir=out_dir, program=program, period=period, district=district
        )
        for w in preview.warnings:
            obj.warn(f"предупреждение: {w}")
        for item in preview.items:
            obj.warn(
                f"{item.file}: {item.mail.district_label}, «{item.mail.program_title}» {item.mail.period}, "
                f"строк {len(item.mail.rows)} → {', '.join(item.mail.recipients)} [{item.note}]"
            )
        click.echo(str(preview.index.resolve()))
        return
    if resend_id is not None:
        result = obj.app.resend_email(resend_id)
    else:
        result = obj.app.send_emails(program=program, period=period, district=district)
    for w in result.warnings:
        obj.warn(f"предупреждение: {w}")
    for r in result.results:
        if r.action == "skipped" and r.state == "sent" and not r.changed_since_sent:
            continue
        changed = "; изменилось после отправки (email --resend ID)" if r.changed_since_sent else ""
        refused = f"; отказ для {', '.join(r.refused)}" if r.refused else ""
        click.echo(
            f"  #{r.outbox_id} {r.district}, {r.program_key}, {r.period}: {outbox.state_label(r.state)}"
            f"{f' ({r.reason})' if r.reason and r.state != 'sent' else ''}{refused}{changed}"
        )
    states = ", ".join(f"{outbox.state_label(k)}: {v}" for k, v in sorted(result.states.items())) or "нет писем"
    click.echo(f"Отправлено сейчас: {result.delivered}. Итог по выборке: {states}.")
    sys.exit(result.exit_code)


def _print_outbox(engine: Engine, tz: ZoneInfo) -> None:
    rows = outbox.all_rows(engine)
    if not rows:
        click.echo("Очередь писем пуста: писем ещё не было.")
    for row in rows:
        when = local(row.sent_at, tz).strftime("%d.%m.%y %H:%M") if row.sent_at else "—"
        refused = f"; отказ: {', '.join(row.refused)}" if row.refused else ""
        error = f"; {row.last_error}" if row.last_error and row.state != "sent" else ""
        click.echo(
            f"#{row.id} {row.district} {row.program_key} {row.period}: {outbox.state_label(row.state)} "
            f"(попыток {row.attempts}, строк {row.row_count}, отправлено {when}){refused}{error}"
        )
