"""What `import-form` and `data-quality` print: per file what was read, imported and rejected, and why."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from intensive_tracker.i18n import N_, _
from intensive_tracker.periods import local
from intensive_tracker.reports.dataquality import DataQuality, RejectLine
from intensive_tracker.reports.quality_types import SECTION_TITLES, PersonRef, QualityReport
from intensive_tracker.store import models as m

_KIND = {"registration": N_("регистрация"), "attendance": N_("посещение"), "defense": N_("защита")}


@dataclass(frozen=True)
class FileResult:
    file: m.ImportedFile
    rejects: list[RejectLine]


def file_results(engine: Engine, seen: list[tuple[str, str, str]]) -> list[FileResult]:
    """The fingerprint and the rejects of each file an import just read, in reading order."""
    results = []
    with Session(engine) as session:
        for form, name, sha in seen:
            record = session.execute(
                select(m.ImportedFile).where(
                    col(m.ImportedFile.form) == form,
                    col(m.ImportedFile.file_name) == name,
                    col(m.ImportedFile.sha256) == sha,
                )
            ).scalar_one_or_none()
            if record is None:
                continue
            rejects = [
                RejectLine(form=r.form, file=r.file_name, row=r.row, column=r.column, value=r.value, reason=r.reason)
                for r in session.execute(
                    select(m.FormReject)
                    .where(
                        col(m.FormReject.form) == form,
                        col(m.FormReject.file_name) == name,
                        col(m.FormReject.sha256) == sha,
                    )
                    .order_by(col(m.FormReject.row), col(m.FormReject.column))
                ).scalars()
            ]
            results.append(FileResult(record, rejects))
    return results


def reject_text(r: RejectLine) -> str:
    """«reg.csv, строка 14, «Электронная почта»: not an e-mail address («ivanov@mail»)»."""
    if r.row == 0:
        return r.reason
    where = _("{file}, строка {row}", file=r.file, row=r.row) + (f", «{r.column}»" if r.column else "")
    shown = f" («{r.value}»)" if r.value else ""
    return f"{where}: {r.reason}{shown}"


def print_file_results(results: list[FileResult]) -> None:
    for result in results:
        f = result.file
        if f.status == "rejected":
            click.echo(_("{file}: файл не принят", file=f.file_name), err=True)
            continue
        click.echo(
            _(
                "{file}: строк прочитано {read}, принято {imported}, отклонено {rejected}",
                file=f.file_name,
                read=f.rows_read,
                imported=f.rows_imported,
                rejected=f.rows_rejected,
            )
        )
        for r in result.rejects:
            click.echo(f"  {reject_text(r)}", err=True)


SHOWN = 20  # lines per section on the terminal; quality.html and --json have them all


def print_quality(report: QualityReport) -> None:
    """The sections quality.html shows, as text: a count, then the first lines of each."""

    def who(p: PersonRef) -> str:
        return f"{p.full_name} ({', '.join(p.accounts)})"

    ru_date = "%d.%m.%y"
    sync = report.last_sync
    sections: dict[str, tuple[int, list[str]]] = {
        "unknown_districts": (
            len(report.unknown_districts),
            [
                _(
                    "«{spelling}»: {people} чел.; исправление: [districts.aliases] {line}",
                    spelling=u.spelling,
                    people=u.people,
                    line=u.alias_line,
                )
                for u in report.unknown_districts
            ],
        ),
        "without_district": (
            report.without_district_total,
            [
                who(w.person) + (_("; ОО: {school}", school=w.school) if w.school else "")
                for w in report.without_district
            ],
        ),
        "probable_links": (
            len(report.probable_links),
            [f"{r.full_name} ({r.account}) → {who(r.person)}: {r.reason}" for r in report.probable_links],
        ),
        "name_twins": (
            len(report.name_twins),
            [f"{t.full_name}, {t.district}: {'; '.join(who(p) for p in t.people)}" for t in report.name_twins],
        ),
        "override_misses": (
            len(report.override_misses),
            [
                f"[[people.{o.kind}]] {', '.join(o.refs)}" + (f" ({o.note})" if o.note else "")
                for o in report.override_misses
            ],
        ),
        "missing_attendance": (
            len(report.missing_attendance),
            [
                _(
                    "{person}, {cohort}: нет в Moodle с {since}, посещений {attendances}",
                    person=who(r.person),
                    cohort=r.cohort,
                    since=r.missing_since.strftime(ru_date),
                    attendances=r.attendances,
                )
                for r in report.missing_attendance
            ],
        ),
        "untaken_sessions": (
            len(report.untaken_sessions),
            [f"{x.starts_at.strftime(ru_date)} {x.cohort}: {x.topic}" for x in report.untaken_sessions],
        ),
        "stale_defenses": (
            len(report.stale_defenses),
            [
                _("{person}, {cohort}: без оценки {days} дн.", person=who(d.person), cohort=d.cohort, days=d.days)
                for d in report.stale_defenses
            ],
        ),
        "sync_warnings": (
            report.to_fix["sync_warnings"],
            [
                f"{x.get('cohort') or x.get('source') or ''}: {x.get('message', '')}"
                for x in (*sync.errors, *sync.warnings)
            ]
            if sync
            else [],
        ),
    }
    for key, (total, lines) in sections.items():
        click.echo(f"{_(SECTION_TITLES[key])}: {total}")
        for line in lines[:SHOWN]:
            click.echo(f"  {line}")
        if total > min(len(lines), SHOWN):
            click.echo(
                _("  … и ещё {n} (все — в quality.html и data-quality --json)", n=total - min(len(lines), SHOWN))
            )


def print_data_quality(report: DataQuality, tz: ZoneInfo, *, narrowed: bool = True) -> None:
    """The form imports as text: one block per section, each line naming file, row and column.

    `narrowed=False` (the whole report, after `print_quality`): the form accounts' probable matches and
    district spellings are already among the report's sections, so only files, rejects and links are added.
    """
    click.echo(_("Файлы форм (последние версии):"))
    for f in report.files:
        state = _("принят") if f.status == "imported" else _("НЕ ПРИНЯТ: {message}", message=f.message)
        click.echo(
            _(
                "  {form} / {file}: {state}; строк {read}, принято {imported}, отклонено {rejected}; загружен {when}",
                form=f.form,
                file=f.file,
                state=state,
                read=f.rows_read,
                imported=f.rows_imported,
                rejected=f.rows_rejected,
                when=local(f.imported_at, tz).strftime("%d.%m.%y %H:%M"),
            )
        )
    if not report.files:
        click.echo(_("  (нет загруженных файлов)"))
    click.echo(_("Отклонённые строки: {n}", n=sum(1 for r in report.rejects if r.row)))
    for r in report.rejects:
        if r.row:
            click.echo(f"  {r.form}: {reject_text(r)}")
    click.echo(_("Как люди из форм связаны с участниками:"))
    for name, how in report.links.items():
        click.echo(
            _(
                "  {form}: по e-mail {email}, вероятно по ФИО и округу {probable}, "
                "несколько кандидатов {ambiguous}, новые {new}",
                form=name,
                email=how["email"],
                probable=how["probable"],
                ambiguous=how["ambiguous"],
                new=how["new"],
            )
        )
    if not narrowed:
        _print_dropped(report, tz)
        return
    click.echo(_("Совпадения для проверки: {n}", n=len(report.matches)))
    for x in report.matches:
        click.echo(
            _(
                "  {form}: {account} ({district}) → участник #{id} {participant} ({participant_district}): {reason}",
                form=x.form,
                account=x.account,
                district=x.district or _("округ не указан"),
                id=x.participant_id,
                participant=x.participant,
                participant_district=x.participant_district or _("округ не указан"),
                reason=x.reason,
            )
        )
    _print_dropped(report, tz)
    click.echo(_("Неизвестные написания округов: {n}", n=len(report.unknown_districts)))
    for spelling, n in report.unknown_districts.items():
        click.echo(f"  «{spelling}»: {n}")


def _print_dropped(report: DataQuality, tz: ZoneInfo) -> None:
    click.echo(_("Строки, исчезнувшие из исправленных файлов: {n}", n=len(report.dropped)))
    for d in report.dropped:
        click.echo(
            _(
                "  {form} / {file}, строка {row}: {name} ({kind}), нет с {since}",
                form=d.form,
                file=d.file,
                row=d.row,
                name=d.name,
                kind=_(_KIND[d.kind]) if d.kind in _KIND else d.kind,
                since=local(d.since, tz).strftime("%d.%m.%y"),
            )
        )
