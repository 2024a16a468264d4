"""The outbox ledger: one row per (district, program, period, kind) and its state machine.

    pending ─claim→ sending ─→ sent               the server accepted it (refused recipients recorded)
       ↑                    ├→ failed_temporary    4xx or connection lost before DATA: retried next run
       │                    ├→ failed_permanent    5xx for every recipient: held for a person
       │                    └→ uncertain           connection lost once DATA started: held for a person
       └──── resend (a person decided) ── sent | failed_permanent | uncertain

`sending` is committed before the DATA command, so a crash leaves evidence: a run that finds a
row in `sending` marks it uncertain (RFC 1047: the server may have it) and never resends it blindly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import N_, _
from intensive_tracker.mail.plan import DistrictMail
from intensive_tracker.periods import utcnow
from intensive_tracker.store.engine import transaction
from intensive_tracker.store.models import Outbox

PENDING, SENDING, SENT = "pending", "sending", "sent"
FAILED_TEMPORARY, FAILED_PERMANENT, UNCERTAIN = "failed_temporary", "failed_permanent", "uncertain"
SENDABLE = (PENDING, FAILED_TEMPORARY)
RESENDABLE = (SENT, FAILED_PERMANENT, UNCERTAIN)
STATE_LABELS = {
    PENDING: N_("ожидает отправки"),
    SENDING: N_("отправляется"),
    SENT: N_("отправлено"),
    FAILED_TEMPORARY: N_("временная ошибка, повтор при следующем запуске"),
    FAILED_PERMANENT: N_("отказ сервера, нужно решение"),
    UNCERTAIN: N_("неизвестно, дошло ли; нужно решение"),
}


def state_label(state: str) -> str:
    """How a person reads an outbox state (JSON and the database keep the English value)."""
    return _(STATE_LABELS[state]) if state in STATE_LABELS else state


def recover_interrupted(engine: Engine, *, now: datetime | None = None) -> int:
    """Rows a crashed run left in `sending` become uncertain: the server may already have them."""
    with transaction(engine) as session:
        result = session.connection().execute(
            update(Outbox)
            .where(col(Outbox.state) == SENDING)
            .values(
                state=UNCERTAIN,
                updated_at=now or utcnow(),
                last_error=_(
                    "запуск прервался во время отправки; письмо могло дойти до сервера: "
                    "уточните у получателя, затем при необходимости `email --resend ID`"
                ),
            )
        )
        return int(result.rowcount or 0)


def find(engine: Engine, mail: DistrictMail) -> Outbox | None:
    with transaction(engine) as session:
        return session.exec(
            select(Outbox).where(
                Outbox.district == mail.district,
                Outbox.program_key == mail.program_key,
                Outbox.period == mail.period,
                Outbox.kind == mail.kind,
            )
        ).first()


def get(engine: Engine, outbox_id: int) -> Outbox:
    with transaction(engine) as session:
        row = session.get(Outbox, outbox_id)
    if row is None:
        raise ConfigError(_("исходящие: письма #{id} нет (см. `intensive-tracker email --status`)", id=outbox_id))
    return row


def enqueue(engine: Engine, mail: DistrictMail, *, message_id: str, now: datetime | None = None) -> Outbox:
    """The outbox row of `mail`, created pending if new; a not-yet-sent row takes the current content."""
    now = now or utcnow()
    existing = find(engine, mail)
    if existing is None:
        try:
            with transaction(engine) as session:
                row = Outbox(
                    district=mail.district,
                    program_key=mail.program_key,
                    period=mail.period,
                    kind=mail.kind,
                    message_id=message_id,
                    recipients=mail.recipients,
                    subject=mail.subject,
                    row_count=len(mail.rows),
                    content_hash=mail.content_hash,
                    state=PENDING,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
            return row
        except IntegrityError:  # another run created it between our read and insert
            existing = find(engine, mail)
            assert existing is not None
    if existing.state in SENDABLE and existing.content_hash != mail.content_hash:
        _update(
            engine,
            existing.id,
            recipients=mail.recipients,
            subject=mail.subject,
            row_count=len(mail.rows),
            content_hash=mail.content_hash,
            updated_at=now,
        )
        return get(engine, existing.id)  # type: ignore[arg-type]
    return existing


def claim(engine: Engine, outbox_id: int, *, now: datetime | None = None) -> bool:
    """pending/failed_temporary → sending, committed; False if another run got there first."""
    with transaction(engine) as session:
        result = session.connection().execute(
            update(Outbox)
            .where(col(Outbox.id) == outbox_id, col(Outbox.state).in_(SENDABLE))
            .values(state=SENDING, attempts=Outbox.attempts + 1, updated_at=now or utcnow())
        )
        return result.rowcount == 1


def finish(
    engine: Engine,
    outbox_id: int,
    state: str,
    *,
    error: str | None = None,
    refused: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """sending → the outcome, with the reason and any refused recipients."""
    now = now or utcnow()
    values: dict[str, Any] = {"state": state, "last_error": error, "updated_at": now, "refused": refused or {}}
    if state == SENT:
        values["sent_at"] = now
    with transaction(engine) as session:
        session.connection().execute(
            update(Outbox).where(col(Outbox.id) == outbox_id, col(Outbox.state) == SENDING).values(**values)
        )


def release(engine: Engine, outbox_id: int, *, error: str, now: datetime | None = None) -> None:
    """sending → failed_temporary when we know the server never got the body (failed before DATA)."""
    finish(engine, outbox_id, FAILED_TEMPORARY, error=error, now=now)


def reopen_for_resend(
    engine: Engine, outbox_id: int, mail: DistrictMail, *, message_id: str, now: datetime | None = None
) -> Outbox:
    """A person decided to send again: the row goes back to pending with today's content."""
    row = get(engine, outbox_id)
    if row.state not in RESENDABLE:
        raise ConfigError(
            _(
                "исходящие #{id}: {state}; --resend отправляет заново только письма в состоянии {states} "
                "(ожидающие и с временной ошибкой уйдут при следующем --send)",
                id=outbox_id,
                state=state_label(row.state),
                states=", ".join(state_label(s) for s in RESENDABLE),
            )
        )
    _update(
        engine,
        outbox_id,
        state=PENDING,
        message_id=message_id,
        recipients=mail.recipients,
        subject=mail.subject,
        row_count=len(mail.rows),
        content_hash=mail.content_hash,
        updated_at=now or utcnow(),
        last_error=_(
            "запрошена повторная отправка (было: {state}: {error})",
            state=state_label(row.state),
            error=row.last_error or _("без ошибки"),
        ),
    )
    return get(engine, outbox_id)


def all_rows(engine: Engine) -> list[Outbox]:
    """Every outbox row, newest period first: what `email --status` prints."""
    with transaction(engine) as session:
        return list(session.exec(select(Outbox).order_by(Outbox.period.desc(), Outbox.program_key, Outbox.district)))  # type: ignore[attr-defined]


def _update(engine: Engine, outbox_id: int | None, **values: Any) -> None:
    with transaction(engine) as session:
        session.connection().execute(update(Outbox).where(col(Outbox.id) == outbox_id).values(**values))
