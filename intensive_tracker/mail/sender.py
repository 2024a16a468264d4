"""`email --send` and the daemon's email job: outbox first, then SMTP, one message at a time.

Every message is built (and its headers checked) before anything is sent; each one is claimed
(`sending`, committed) right before it is handed over and finished right after. Nothing is sent
twice automatically: sent, uncertain and failed_permanent rows are skipped until a person runs
`email --resend ID`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.engine import Engine

from intensive_tracker.config import Settings
from intensive_tracker.errors import ConfigError
from intensive_tracker.mail import outbox
from intensive_tracker.mail.message import build_message, new_message_id
from intensive_tracker.mail.plan import DistrictMail, RowsFor, district_rows, mail_settings, plan_mails
from intensive_tracker.mail.smtp import Delivery, Transport
from intensive_tracker.people.districts import Registry
from intensive_tracker.periods import utcnow
from intensive_tracker.store.locks import sending_lock
from intensive_tracker.store.models import Outbox
from intensive_tracker.store.schema import ensure_schema

log = logging.getLogger("intensive_tracker.mail")


@dataclass(frozen=True)
class MessageResult:
    """One message of the run: where its outbox row stands now and why."""

    outbox_id: int
    district: str
    program_key: str
    period: str
    state: str
    action: str  # sent-now | attempted | skipped | not-attempted
    reason: str | None = None
    refused: dict[str, str] = field(default_factory=dict)
    changed_since_sent: bool = False


@dataclass
class SendReport:
    results: list[MessageResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    recovered: int = 0

    @property
    def delivered(self) -> int:
        """Messages the server accepted during this run."""
        return sum(1 for r in self.results if r.action == "sent-now")

    @property
    def states(self) -> Counter[str]:
        return Counter(r.state for r in self.results)

    @property
    def exit_code(self) -> int:
        """0 when every message of the selection is sent; 75 when any waits for a retry or a person."""
        return 0 if all(r.state == outbox.SENT for r in self.results) else 75


TransportFactory = Callable[..., Transport]


class _Pacer:
    """At most rate_per_minute messages a minute: the relay and the recipients' servers stay friendly."""

    def __init__(self, per_minute: float, sleep: Callable[[float], None]) -> None:
        self.interval = 60.0 / per_minute
        self.sleep = sleep
        self.last: float | None = None

    def wait(self) -> None:
        if self.last is not None:
            delay = self.last + self.interval - time.monotonic()
            if delay > 0:
                self.sleep(delay)
        self.last = time.monotonic()


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
    rows_for: RowsFor = district_rows,
    now: Callable[[], datetime] = utcnow,
) -> SendReport:
    """Send every due message of the selection once; returns what happened to each."""
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
    rows_for: RowsFor,
    now: Callable[[], datetime],
) -> SendReport:
    mail_conf = mail_settings(settings)
    report = SendReport(recovered=outbox.recover_interrupted(engine, now=now()))
    if report.recovered:
        report.warnings.append(
            f"{report.recovered} message(s) were left 'sending' by an interrupted run: "
            "now uncertain, held for a person (email --status, email --resend ID)"
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
                MessageResult(
                    _row_id(row),
                    mail.district,
                    mail.program_key,
                    mail.period,
                    row.state,
                    "skipped",
                    row.last_error,
                    dict(row.refused),
                    changed_since_sent=row.content_hash != mail.content_hash,
                )
            )
    _deliver(settings, engine, due, report, transport(mail_conf), _Pacer(mail_conf.rate_per_minute, sleep), now)
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
            f"outbox #{outbox_id}: {row.district} has no people or no address for "
            f"{row.program_key} {row.period} now; nothing to resend"
        )
    message_id = row.message_id if mail.content_hash == row.content_hash else new_message_id(mail_conf)
    message = build_message(mail, settings=mail_conf, message_id=message_id, now=now(), tz=settings.tz)
    row = outbox.reopen_for_resend(engine, outbox_id, mail, message_id=message_id, now=now())
    report = SendReport(warnings=plan.warnings)
    _deliver(
        settings,
        engine,
        [(mail, row, message)],
        report,
        transport(mail_conf),
        _Pacer(mail_conf.rate_per_minute, time.sleep),
        now,
    )
    return report


def _deliver(
    settings: Settings,
    engine: Engine,
    due: list[tuple[DistrictMail, Outbox, EmailMessage]],
    report: SendReport,
    link: Transport,
    pacer: _Pacer,
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
                    reason = f"not attempted: {e}"
                    for rest_mail, rest_row, _ in due[index:]:
                        report.results.append(
                            MessageResult(
                                _row_id(rest_row),
                                rest_mail.district,
                                rest_mail.program_key,
                                rest_mail.period,
                                rest_row.state,
                                "not-attempted",
                                reason,
                            )
                        )
                    log.warning("SMTP %s went away; %d message(s) wait for the next run", link.where, len(due) - index)
                    return
            pacer.wait()
            if not outbox.claim(engine, _row_id(row), now=now()):
                report.results.append(
                    MessageResult(
                        _row_id(row),
                        mail.district,
                        mail.program_key,
                        mail.period,
                        outbox.get(engine, _row_id(row)).state,
                        "skipped",
                        "claimed by another run",
                    )
                )
                continue
            delivery: Delivery = link.send(message, sender=mail_conf.from_address, recipients=mail.recipients)
            if delivery.reconnect:
                delivery = _once_more(
                    link, message, sender=mail_conf.from_address, recipients=mail.recipients, first=delivery
                )
            outbox.finish(
                engine, _row_id(row), delivery.state, error=delivery.reason, refused=delivery.refused, now=now()
            )
            action = "sent-now" if delivery.state == outbox.SENT else "attempted"
            report.results.append(
                MessageResult(
                    _row_id(row),
                    mail.district,
                    mail.program_key,
                    mail.period,
                    delivery.state,
                    action,
                    delivery.reason,
                    delivery.refused,
                )
            )
            log.info(
                "outbox #%s %s / %s %s: %s%s",
                _row_id(row),
                mail.district,
                mail.program_key,
                mail.period,
                delivery.state,
                f" ({delivery.reason})" if delivery.reason else "",
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
        log.warning("SMTP %s: reconnect failed: %s", link.where, e)
        return first
    return link.send(message, sender=sender, recipients=recipients)


def _row_id(row: Outbox) -> int:
    """The id of a stored outbox row (never None once written)."""
    assert row.id is not None
    return row.id
