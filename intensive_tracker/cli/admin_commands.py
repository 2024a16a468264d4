"""`serve`, `db`, `status` and `daemon`: what the administrator runs on the server."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from intensive_tracker.cli.context import Context, cli, log
from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import N_, _
from intensive_tracker.logs import set_job
from intensive_tracker.ops.schedule import next_fire_times, schedule_zone
from intensive_tracker.ops.serve import make_server
from intensive_tracker.ops.shutdown import StopFlag, stop_on_signals
from intensive_tracker.ops.status import collect_status
from intensive_tracker.ops.status_text import render_text
from intensive_tracker.store.errors import database_label
from intensive_tracker.store.locks import sync_lock
from intensive_tracker.store.schema import ensure_schema, schema_heads, upgrade
from jobs.scheduler import build_scheduler, run_until_stopped


@cli.command(help=N_("Раздать папку отчёта на 127.0.0.1, чтобы смотреть её в браузере; Ctrl+C останавливает."))
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    metavar=N_("ПАПКА"),
    help=N_("Папка отчёта (по умолчанию: report.out_dir из конфигурации)."),
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    metavar=N_("ПОРТ"),
    help=N_("Порт на 127.0.0.1 (0 — любой свободный)."),
)
@click.pass_obj
def serve(obj: Context, directory: Path | None, port: int) -> None:
    folder = directory or obj.app.relative_to_config(Path(obj.settings.report.out_dir))
    try:
        server = make_server(folder, port=port)
    except OSError as e:
        raise ConfigError(
            _("порт {port} на 127.0.0.1: {reason}; выберите другой в --port", port=port, reason=e.strerror)
        ) from None
    host, bound = server.server_address[:2]
    click.echo(f"http://{host!s}:{bound}/index.html")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@cli.group(help=N_("Схема базы данных: обновить её или показать, где она сейчас."))
def db() -> None:
    pass


@db.command(
    "upgrade",
    help=N_("Обновить схему до этой версии (никогда не откатывает назад; sync, report и daemon делают это и сами)."),
)
@click.pass_obj
def db_upgrade(obj: Context) -> None:
    engine = obj.app.engine
    with sync_lock(engine):  # never migrate under a running sync
        applied = upgrade(engine)
    if applied:
        click.echo(
            _(
                "{database}: схема обновлена до {revisions}",
                database=database_label(engine),
                revisions=", ".join(applied),
            )
        )
    else:
        click.echo(_("{database}: схема актуальна", database=database_label(engine)))


@db.command(
    "current",
    help=N_("Показать ревизии схемы в базе и в этой версии; код выхода 1, если база отстаёт."),
)
@click.pass_obj
def db_current(obj: Context) -> None:
    current, heads = schema_heads(obj.app.engine)
    click.echo(_("база:     {revisions}", revisions=", ".join(sorted(current)) or _("(пусто)")))
    click.echo(_("релиз:    {revisions}", revisions=", ".join(sorted(heads))))
    if current != heads:
        click.echo(_("Схема отстаёт: выполните intensive-tracker db upgrade"), err=True)
        sys.exit(1)


@cli.command(
    help=N_("Последние запуски, последняя неудача, следующие запуски по расписанию и очередь писем (ничего не меняет).")
)
@click.option("--json", "as_json", is_flag=True, help=N_("Вывод для программ мониторинга (JSON)."))
@click.option(
    "--limit",
    default=10,
    show_default=True,
    type=click.IntRange(1, 1000),
    metavar=N_("ЧИСЛО"),
    help=N_("Сколько запусков показать."),
)
@click.pass_obj
def status(obj: Context, as_json: bool, limit: int) -> None:
    settings = obj.settings
    # Read-only: a monitor must not migrate the database; a schema behind is shown, not fixed.
    data = collect_status(obj.app.engine, settings, limit=limit)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else render_text(data))
    if data["database_error"]:  # the database cannot be read: said above, and the exit code says it too
        sys.exit(data["database_error"]["exit_code"])


@cli.command(
    help=N_(
        "Выполнять расписание ([schedule] конфигурации) до SIGTERM; пропущенная ночь выполняется один раз при старте."
    )
)
@click.pass_obj
def daemon(obj: Context) -> None:
    set_job("daemon")
    settings = obj.settings
    config_path = obj.config_path.resolve()
    ensure_schema(obj.app.engine)
    stop = StopFlag()
    scheduler = build_scheduler(settings, config_path, engine=obj.app.engine, should_stop=stop)
    obj.close()  # the jobs open their own App per night
    for job, when in next_fire_times(settings, datetime.now(UTC)).items():
        log.info(_("{job}: следующий запуск {when}", job=job, when=when.isoformat() if when else _("никогда")))

    with stop_on_signals(stop):  # handlers first: a stop right after start is graceful too
        log.info(
            _(
                "демон запущен (pid {pid}, пояс {zone}, конфигурация {config})",
                pid=os.getpid(),
                zone=schedule_zone(settings),
                config=config_path,
            )
        )
        run_until_stopped(scheduler, stop)
    log.info(_("демон остановлен ({reason})", reason=stop.reason or _("расписание завершилось")))
