"""`email --preview`: every message as a .eml file plus index.html of who gets what; sends nothing.

Reads the outbox (to say what is new, unchanged or changed since the last send) but never writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from intensive_tracker.config import Settings
from intensive_tracker.files import make_dir, write_atomic, write_bytes_atomic
from intensive_tracker.i18n import _
from intensive_tracker.mail import outbox
from intensive_tracker.mail.message import build_message, wire_bytes
from intensive_tracker.mail.plan import DistrictMail, RowsFor, district_rows, mail_settings, plan_mails
from intensive_tracker.people.districts import Registry
from intensive_tracker.periods import local, ru_date, utcnow
from intensive_tracker.store.models import Outbox
from intensive_tracker.store.schema import ensure_schema
from intensive_tracker.templating import environment
from intensive_tracker.text import slug


@dataclass(frozen=True)
class PreviewItem:
    file: str
    mail: DistrictMail
    outbox_id: int | None
    state: str | None
    change: str  # new | pending | unchanged | changed | held
    note: str

    @property
    def state_text(self) -> str:
        """The outbox state as a person reads it (the `state` field keeps the stored value)."""
        return outbox.state_label(self.state) if self.state else ""


@dataclass
class PreviewReport:
    out_dir: Path
    index: Path
    items: list[PreviewItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _describe(mail: DistrictMail, row: Outbox | None, settings: Settings) -> tuple[str, str]:
    if row is None:
        return "new", _("новое: ещё не отправлялось")
    if row.state in outbox.SENDABLE:
        if row.attempts:
            return "pending", _(
                "ждёт отправки; попыток {attempts}, последняя ошибка: {error}",
                attempts=row.attempts,
                error=row.last_error,
            )
        return "pending", _("ждёт отправки")
    if row.state == outbox.SENT:
        when = ru_date(local(row.sent_at, settings.tz)) if row.sent_at else "?"
        if row.content_hash == mail.content_hash:
            return "unchanged", _("отправлено {date}; с тех пор без изменений", date=when)
        return "changed", _(
            "отправлено {date}; с тех пор изменилось: было строк {before}, стало {after}. "
            "Само не отправится: `email --resend {id}`",
            date=when,
            before=row.row_count,
            after=len(mail.rows),
            id=row.id,
        )
    return "held", f"{outbox.state_label(row.state)}: {row.last_error or ''}"


def preview_all(
    settings: Settings,
    engine: Engine,
    registry: Registry,
    *,
    out_dir: Path,
    program: str | None = None,
    period: str | None = None,
    district: str | None = None,
    rows_for: RowsFor = district_rows,
    now: Callable[[], datetime] = utcnow,
) -> PreviewReport:
    """Write NNN_<program>_<district>.eml per message and index.html; returns what was written."""
    mail_conf = mail_settings(settings)
    ensure_schema(engine)
    plan = plan_mails(settings, engine, registry, program=program, period=period, district=district, rows_for=rows_for)
    make_dir(out_dir)
    for old in out_dir.glob("[0-9][0-9][0-9]_*.eml"):  # a district gone since the last preview must not linger
        old.unlink()
    report = PreviewReport(out_dir=out_dir, index=out_dir / "index.html", warnings=list(plan.warnings))
    for number, mail in enumerate(plan.mails, start=1):
        row = outbox.find(engine, mail)
        message_id = row.message_id if row is not None else f"<preview-{number}@invalid>"
        message = build_message(mail, settings=mail_conf, message_id=message_id, now=now(), tz=settings.tz)
        name = f"{number:03d}_{mail.program_key}_{slug(mail.district_label)}.eml"
        path = out_dir / name
        write_bytes_atomic(path, wire_bytes(message))  # 0600: a message lists people
        change, note = _describe(mail, row, settings)
        report.items.append(PreviewItem(name, mail, row.id if row else None, row.state if row else None, change, note))
    page = (
        environment()
        .get_template("mail/preview.html")
        .render(report=report, generated=local(now(), settings.tz), sender=mail_conf.from_address)
    )
    write_atomic(report.index, page)
    return report
