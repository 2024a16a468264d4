"""Handing built messages to SMTP one at a time: paced, each claimed right before and finished right after."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.engine import Engine

from intensive_tracker.config import Settings
from intensive_tracker.i18n import _, ngettext
from intensive_tracker.mail import outbox
from intensive_tracker.mail.plan import DistrictMail, mail_settings
from intensive_tracker.mail.send_report import MessageResult, SendReport
from intensive_tracker.mail.smtp import Delivery, Transport
from intensive_tracker.store.models import Outbox

log = logging.getLogger("intensive_tracker.mail")


class Pacer:
    """At most rate_per_minute messages a minute: the relay and the recipients' servers stay friendly."""

    def __init__(
        self, per_minute: float, sleep: Callable[[float], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = 60.0 / per_minute
        self.sleep = sleep
        self.clock = clock
        self.last: float | None = None

    def wait(self) -> None:
        if self.last is not None:
            delay = self.last + self.interval - self.clock()
            if delay > 0:
                self.sleep(delay)
        self.last = self.clock()


def deliver(
    settings: Settings,
    engine: Engine,
    due: list[tuple[DistrictMail, Outbox, EmailMessage]],
    report: SendReport,
    link: Transport,
    pacer: Pacer,
    now: Callable[[], datetime],
) -> None:
    mail_conf = mail_settings(settings)
    if not due:
        return
    link.open()  # MailUnavailable / MailAuthError before any claim: every row stays as it was
    try:
        for index, (mail, row, message) in enumerate(due):
            if not link.is_open:
                try:
                    link.open()
                except Exception as e:  # the server went away mid-run: the rest waits for the next run
                    reason = _("не отправлялось: {error}", error=e)
                    for rest_mail, rest_row, _message in due[index:]:
                        report.results.append(
                            MessageResult.of(rest_mail, row_id(rest_row), rest_row.state, "not-attempted", reason)
                        )
                    log.warning(
                        ngettext(
                            "SMTP {where}: сервер отключился; {n} письмо ждёт следующего запуска",
                            "SMTP {where}: сервер отключился; {n} писем ждут следующего запуска",
                            len(due) - index,
                            where=link.where,
                        )
                    )
                    return
            pacer.wait()
            if not outbox.claim(engine, row_id(row), now=now()):
                report.results.append(
                    MessageResult.of(
                        mail,
                        row_id(row),
                        outbox.get(engine, row_id(row)).state,
                        "skipped",
                        _("его уже взял другой запуск"),
                    )
                )
                continue
            delivery: Delivery = link.send(message, sender=mail_conf.from_address, recipients=mail.recipients)
            if delivery.reconnect:
                delivery = _once_more(
                    link, message, sender=mail_conf.from_address, recipients=mail.recipients, first=delivery
                )
            outbox.finish(
                engine, row_id(row), delivery.state, error=delivery.reason, refused=delivery.refused, now=now()
            )
            action = "sent-now" if delivery.state == outbox.SENT else "attempted"
            report.results.append(
                MessageResult.of(mail, row_id(row), delivery.state, action, delivery.reason, refused=delivery.refused)
            )
            why = f" ({delivery.reason})" if delivery.reason else ""
            log.info(
                _(
                    "исходящие #{id} {district} / {program} {period}: {state}{reason}",
                    id=row_id(row),
                    district=mail.district,
                    program=mail.program_key,
                    period=mail.period,
                    state=outbox.state_label(delivery.state),
                    reason=why,
                )
            )
    finally:
        link.close()


def _once_more(
    link: Transport, message: EmailMessage, *, sender: str, recipients: list[str], first: Delivery
) -> Delivery:
    """One retry on a fresh connection for a message the server never saw; else the first outcome."""
    try:
        link.open()
    except Exception as e:  # still gone: the message stays failed_temporary for the next run
        log.warning(_("SMTP {where}: не удалось переподключиться: {error}", where=link.where, error=e))
        return first
    return link.send(message, sender=sender, recipients=recipients)


def row_id(row: Outbox) -> int:
    """The id of a stored outbox row (never None once written)."""
    assert row.id is not None
    return row.id
