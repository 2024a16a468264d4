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
from intensive_tracker.i18n import N_, _
from intensive_tracker.mail import outbox
from intensive_tracker.periods import local
from intensive_tracker.store.schema import ensure_schema


@cli.command(
    "email",
    help=N_("Письма округам «участники-итоги»: --preview, --send, --resend НОМЕР или --status."),
)
@click.option(
    "--preview",
    "mode",
    flag_value="preview",
    help=N_("Записать каждое письмо в .eml и index.html; ничего не отправлять."),
)
@click.option(
    "--send",
    "mode",
    flag_value="send",
    help=N_("Отправить причитающиеся письма через очередь исходящих (каждое один раз)."),
)
@click.option(
    "--resend",
    "resend_id",
    type=int,
    metavar=N_("НОМЕР"),
    help=N_("Отправить письмо НОМЕР из очереди ещё раз (после решения человека)."),
)
@click.option(
    "--status", "mode", flag_value="status", help=N_("Показать очередь исходящих: каждое письмо и его состояние.")
)
@click.option(
    "--outbox",
    "outbox_dir",
    type=click.Path(path_type=Path, file_okay=False),
    metavar=N_("ПАПКА"),
    help=N_("Папка для --preview (по умолчанию: mail.preview_dir из конфигурации)."),
)
@click.option(
    "--district",
    metavar=N_("ОКРУГ"),
    help=N_("Только этот округ (любое написание, известное реестру; «не распределены» тоже)."),
)
@click.option(
    "--program",
    metavar=N_("КЛЮЧ"),
    help=N_("Только программа с этим ключом (по умолчанию: mail.program, иначе все программы)."),
)
@click.option(
    "--period",
    metavar=N_("ГОД"),
    help=N_("Учебный год, например 2023/24 (по умолчанию: mail.period, иначе последний у каждой программы)."),
)
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
    if (mode is None) == (resend_id is None):
        raise click.UsageError(_("укажите ровно одно из: --preview, --send, --resend НОМЕР, --status"))
    if period is not None and not re.fullmatch(r"\d{4}/\d{2}", period):
        raise click.UsageError(_("--period {period!r}: учебный год пишется так: 2023/24", period=period))
    settings = obj.settings
    engine = obj.app.engine
    ensure_schema(engine)
    if mode == "status":
        _print_outbox(engine, settings.tz)
        return
    mail.plan.mail_settings(settings)
    if mode == "preview":
        out_dir = outbox_dir or obj.app.relative_to_config(Path(settings.mail.preview_dir))  # type: ignore[union-attr]
        preview = obj.app.preview_emails(out_dir, program=program, period=period, district=district)
        for w in preview.warnings:
            obj.warn(_("предупреждение: {message}", message=w))
        for item in preview.items:
            obj.warn(
                _(
                    "{file}: {district}, «{program}» {period}, строк {rows} → {recipients} [{note}]",
                    file=item.file,
                    district=item.mail.district_label,
                    program=item.mail.program_title,
                    period=item.mail.period,
                    rows=len(item.mail.rows),
                    recipients=", ".join(item.mail.recipients),
                    note=item.note,
                )
            )
        click.echo(str(preview.index.resolve()))
        return
    if resend_id is not None:
        result = obj.app.resend_email(resend_id)
    else:
        result = obj.app.send_emails(program=program, period=period, district=district)
    for w in result.warnings:
        obj.warn(_("предупреждение: {message}", message=w))
    for r in result.results:
        if r.action == "skipped" and r.state == "sent" and not r.changed_since_sent:
            continue
        changed = _("; изменилось после отправки (email --resend НОМЕР)") if r.changed_since_sent else ""
        refused = _("; отказ для {addresses}", addresses=", ".join(r.refused)) if r.refused else ""
        reason = f" ({r.reason})" if r.reason and r.state != "sent" else ""
        click.echo(
            f"  #{r.outbox_id} {r.district}, {r.program_key}, {r.period}: {outbox.state_label(r.state)}"
            f"{reason}{refused}{changed}"
        )
    states = ", ".join(f"{outbox.state_label(k)}: {v}" for k, v in sorted(result.states.items())) or _("нет писем")
    click.echo(_("Отправлено сейчас: {sent}. Итог по выборке: {states}.", sent=result.delivered, states=states))
    sys.exit(result.exit_code)


def _print_outbox(engine: Engine, tz: ZoneInfo) -> None:
    rows = outbox.all_rows(engine)
    if not rows:
        click.echo(_("Очередь писем пуста: писем ещё не было."))
    for row in rows:
        when = local(row.sent_at, tz).strftime("%d.%m.%y %H:%M") if row.sent_at else "—"
        refused = _("; отказ: {addresses}", addresses=", ".join(row.refused)) if row.refused else ""
        error = f"; {row.last_error}" if row.last_error and row.state != "sent" else ""
        details = _(
            "попыток {attempts}, строк {rows}, отправлено {when}", attempts=row.attempts, rows=row.row_count, when=when
        )
        click.echo(
            f"#{row.id} {row.district} {row.program_key} {row.period}: {outbox.state_label(row.state)} "
            f"({details}){refused}{error}"
        )
