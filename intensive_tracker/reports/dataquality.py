"""The data-quality report of form imports: files, rejected rows, probable matches, dropped rows, unknown districts.

Built from the tables only (the rejects and fingerprints the sync wrote), as frozen dataclasses the
CLI prints as text or JSON. It holds personal data (names, e-mails of rejected rows): it is for the
lab's operator, never for a district.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from intensive_tracker.people.districts import Registry
from intensive_tracker.reports.link_reasons import link_reason_text
from intensive_tracker.store import models as m
from intensive_tracker.sync.form_people import PROBABLE, SOURCE


@dataclass(frozen=True)
class FileLine:
    form: str
    file: str
    sha256: str
    status: str  # imported | rejected
    message: str | None
    rows_read: int
    rows_imported: int
    rows_rejected: int
    imported_at: datetime


@dataclass(frozen=True)
class RejectLine:
    form: str
    file: str
    row: int  # 0: the whole file
    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class MatchLine:
    form: str
    account: str  # the name as the form spells it
    email: str | None
    district: str | None
    participant_id: int
    participant: str
    participant_district: str | None
    reason: str


@dataclass(frozen=True)
class DroppedLine:
    form: str
    file: str
    row: int
    name: str
    kind: str
    since: datetime


@dataclass(frozen=True)
class DataQuality:
    files: list[FileLine] = field(default_factory=list)
    rejects: list[RejectLine] = field(default_factory=list)
    matches: list[MatchLine] = field(default_factory=list)
    dropped: list[DroppedLine] = field(default_factory=list)
    unknown_districts: dict[str, int] = field(default_factory=dict)  # spelling → form accounts using it
    links: dict[str, dict[str, int]] = field(default_factory=dict)  # form → how its people were joined

    def as_json(self) -> dict[str, Any]:
        """ISO datetimes; every key of the dataclasses above."""

        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        return plain(asdict(self))  # type: ignore[no-any-return]


def build_data_quality(engine: Engine, registry: Registry, *, form: str | None = None) -> DataQuality:
    """The current version of every form file and what it left to review."""

    def only(column: Any) -> Any:
        return column == form if form is not None else True

    with Session(engine) as conn:
        files = [
            FileLine(
                form=f.form,
                file=f.file_name,
                sha256=f.sha256,
                status=f.status,
                message=f.message,
                rows_read=f.rows_read,
                rows_imported=f.rows_imported,
                rows_rejected=f.rows_rejected,
                imported_at=f.imported_at,
            )
            for f in conn.execute(
                select(m.ImportedFile)
                .where(col(m.ImportedFile.superseded_at).is_(None), only(col(m.ImportedFile.form)))
                .order_by(col(m.ImportedFile.form), col(m.ImportedFile.file_name), col(m.ImportedFile.imported_at))
            ).scalars()
        ]
        current = {(f.form, f.file, f.sha256) for f in files}
        rejects = [
            RejectLine(form=r.form, file=r.file_name, row=r.row, column=r.column, value=r.value, reason=r.reason)
            for r in conn.execute(
                select(m.FormReject)
                .where(only(m.FormReject.form))
                .order_by(
                    col(m.FormReject.form), col(m.FormReject.file_name), col(m.FormReject.row), m.FormReject.column
                )
            ).scalars()
            if (r.form, r.file_name, r.sha256) in current
        ]
        matches = []
        for a, p in conn.execute(
            select(m.Account, m.Participant)
            .join(m.Participant, col(m.Participant.id) == col(m.Account.participant_id))
            .where(col(m.Account.source) == SOURCE, col(m.Account.link_reason).contains("проверьте"))  # not a message
            .order_by(m.Account.external_id)
        ):
            form_name = a.external_id.split(":", 1)[0]
            if form is not None and form_name != form:
                continue
            matches.append(
                MatchLine(
                    form=form_name,
                    account=a.full_name,
                    email=a.email,
                    district=a.district_raw,
                    participant_id=p.id,
                    participant=p.full_name,
                    participant_district=p.district_raw,
                    reason=link_reason_text(a.link_reason),
                )
            )
        dropped = [
            DroppedLine(form=e.form, file=e.file_name, row=e.row, name=name, kind=e.kind, since=e.missing_since)
            for e, name in conn.execute(
                select(m.FormEntry, col(m.Account.full_name))
                .join(m.Account, col(m.Account.id) == col(m.FormEntry.account_id))
                .where(col(m.FormEntry.missing_since).is_not(None), only(col(m.FormEntry.form)))
                .order_by(col(m.FormEntry.form), col(m.FormEntry.file_name), col(m.FormEntry.row))
            )
        ]
        unknown: dict[str, int] = {}
        links: dict[str, dict[str, int]] = {}
        for ext, spelling, reason in conn.execute(
            select(col(m.Account.external_id), col(m.Account.district_raw), col(m.Account.link_reason)).where(
                col(m.Account.source) == SOURCE
            )
        ):
            form_name = ext.split(":", 1)[0]
            if form is not None and form_name != form:
                continue
            how = links.setdefault(form_name, {"email": 0, "probable": 0, "ambiguous": 0, "new": 0})
            how[link_kind(reason)] += 1
            if spelling and registry.resolve(spelling).name is None:
                unknown[spelling.strip()] = unknown.get(spelling.strip(), 0) + 1
    return DataQuality(
        files=files,
        rejects=rejects,
        matches=matches,
        dropped=dropped,
        unknown_districts=dict(sorted(unknown.items())),
        links=dict(sorted(links.items())),
    )


def link_kind(reason: str) -> str:
    """email | probable | ambiguous | new, from an account's link_reason (see formsync.PersonIndex.match)."""
    if reason.startswith(PROBABLE):
        return "probable"
    if reason.startswith("тот же e-mail"):  # not a message: stored link reasons
        return "email"
    return "ambiguous" if "проверьте" in reason else "new"  # not a message
