"""`email --send` and the daemon's email job: outbox first, then SMTP, one message at a time.

Every message is built (and its headers checked) before anything is sent; each one is claimed
(`sending`, committed) right before it is handed over and finished right after. Nothing is sent
twice automatically: sent, uncertain and failed_permanent rows are skipped until a person runs
`email --resend ID`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.engine import Engine

from intensive_tracker.config import Settings
from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import _, ngettext
from intensive_tracker.mail import outbox
from intensive_tracker.mail.delivery import Pacer, deliver, row_id
from intensive_tracker.mail.message import build_message, new_message_id
from intensive_tracker.mail.plan import DistrictMail, RowsFor, district_rows, mail_settings, plan_mails
from intensive_tracker.mail.send_report import MessageResult, SendReport
from intensive_tracker.mail.smtp import Transport
from intensive_tracker.people.districts import Registry
from intensive_tracker.periods import utcnow
from intensive_tracker.store.locks import sending_lock
from intensive_tracker.store.models import Outbox
from intensive_tracker.store.schema import ensure_schema

TransportFactory = Callable[..., Transport]


def send_all(
    settings: Settings,
    engine: Engine,
    registry: Registry,
    *,
    program: str | None = None,
    period: str | None = None,
    district: str | None = None,
    transport: TransportFactory = Transport,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rows_for: RowsFor = district_rows,
    now: Callable[[], datetime] = utcnow,
) -> SendReport:
    """Send every due message of the selection once; returns what happened to each.

    `sleep` and `clock` pace the run (rate_per_minute); tests give a clock that only sleeping moves.
    """
    mail_settings(settings)  # no [mail]: a config error before touching the database
    ensure_schema(engine)
    with sending_lock(engine):
        return _send_due(
            settings,
            engine,
            registry,
            program=program,
            period=period,
            district=district,
            transport=transport,
            sleep=sleep,
            clock=clock,
            rows_for=rows_for,
            now=now,
        )


def _send_due(
    settings: Settings,
    engine: Engine,
    registry: Registry,
    *,
    program: str | None,
    period: str | None,
    district: str | None,
    transport: TransportFactory,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    rows_for: RowsFor,
    now: Callable[[], datetime],
) -> SendReport:
    mail_conf = mail_settings(settings)
    report = SendReport(recovered=outbox.recover_interrupted(engine, now=now()))
    if report.recovered:
        report.warnings.append(
            ngettext(
                "Прерванный запуск оставил {n} письмо в состоянии «отправляется»: теперь оно «неизвестно, "
                "дошло ли» и ждёт решения человека (email --status, email --resend ID)",
                "Прерванный запуск оставил {n} писем в состоянии «отправляется»: теперь они «неизвестно, "
                "дошло ли» и ждут решения человека (email --status, email --resend ID)",
                report.recovered,
            )
        )
    plan = plan_mails(settings, engine, registry, program=program, period=period, district=district, rows_for=rows_for)
    report.warnings.extend(plan.warnings)
    # Build everything first: a header injection refuses the whole run before a single message leaves.
    built = {
        id(mail): build_message(mail, settings=mail_conf, message_id="<unassigned@invalid>", now=now(), tz=settings.tz)
        for mail in plan.mails
    }
    due: list[tuple[DistrictMail, Outbox, EmailMessage]] = []
    for mail in plan.mails:
        row = outbox.enqueue(engine, mail, message_id=new_message_id(mail_conf), now=now())
        if row.state in outbox.SENDABLE:
            message = built[id(mail)]
            message.replace_header("Message-ID", row.message_id)
            due.append((mail, row, message))
        else:
            report.results.append(
                MessageResult.of(
                    mail,
                    row_id(row),
                    row.state,
                    "skipped",
                    row.last_error,
                    refused=dict(row.refused),
                    changed_since_sent=row.content_hash != mail.content_hash,
                )
            )
    deliver(settings, engine, due, report, transport(mail_conf), Pacer(mail_conf.rate_per_minute, sleep, clock), now)
    return report


def resend(
    settings: Settings,
    engine: Engine,
    registry: Registry,
    outbox_id: int,
    *,
    transport: TransportFactory = Transport,
    now: Callable[[], datetime] = utcnow,
) -> SendReport:
    """A person decided: send outbox #ID again with today's rows.

    The Message-ID is kept when the content is unchanged (the uncertain case: a recipient's client
    then shows one message even if both copies arrive); changed content is a new message and gets
    a new Message-ID, or clients that deduplicate by it would hide the update.
    """
    mail_settings(settings)
    ensure_schema(engine)
    with sending_lock(engine):
        return _resend(settings, engine, registry, outbox_id, transport=transport, now=now)


def _resend(
    settings: Settings,
    engine: Engine,
    registry: Registry,
    outbox_id: int,
    *,
    transport: TransportFactory,
    now: Callable[[], datetime],
) -> SendReport:
    mail_conf = mail_settings(settings)
    row = outbox.get(engine, outbox_id)
    plan = plan_mails(settings, engine, registry, program=row.program_key, period=row.period, district=row.district)
    mail = next((x for x in plan.mails if x.kind == row.kind), None)
    if mail is None:
        raise ConfigError(
            _(
                "исходящие #{id}: у округа {district} сейчас нет ни участников, ни адреса для {program} {period}; "
                "отправлять заново нечего",
                id=outbox_id,
                district=row.district,
                program=row.program_key,
                period=row.period,
            )
        )
    message_id = row.message_id if mail.content_hash == row.content_hash else new_message_id(mail_conf)
    message = build_message(mail, settings=mail_conf, message_id=message_id, now=now(), tz=settings.tz)
    row = outbox.reopen_for_resend(engine, outbox_id, mail, message_id=message_id, now=now())
    report = SendReport(warnings=plan.warnings)
    deliver(
        settings,
        engine,
        [(mail, row, message)],
        report,
        transport(mail_conf),
        Pacer(mail_conf.rate_per_minute, time.sleep),
        now,
    )
    return report
