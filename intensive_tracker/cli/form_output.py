"""What `import-form` and `data-quality` print: per file what was read, imported and rejected, and why."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from intensive_tracker.periods import local
from intensive_tracker.reports.dataquality import DataQuality, RejectLine
from intensive_tracker.reports.quality_types import SECTION_TITLES, PersonRef, QualityReport
from intensive_tracker.store import models as m

_KIND = {"registration": "регистрация", "attendance": "посещение", "defense": "защита"}


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
    where = f"{r.file}, строка {r.row}" + (f", «{r.column}»" if r.column else "")
    shown = f" («{r.value}»)" if r.value else ""
    return f"{where}: {r.reason}{shown}"


def print_file_results(results: list[FileResult]) -> None:
    for result in results:
        f = result.file
        if f.status == "rejected":
            click.echo(f"{f.file_name}: файл не принят", err=True)
            continue
        click.echo(
            f"{f.file_name}: строк прочитано {f.rows_read}, принято {f.rows_imported}, отклонено {f.rows_rejected}"
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
                f"«{u.spelling}»: {u.people} чел.; исправление: [districts.aliases] {u.alias_line}"
                for u in report.unknown_districts
            ],
        ),
        "without_district": (
            report.without_district_total,
            [who(w.person) + (f"; ОО: {w.school}" if w.school else "") for w in report.without_district],
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
                f"{who(r.person)}, {r.cohort}: нет в Moodle с {r.missing_since.strftime(ru_date)}, посещений {r.attendances}"
                for r in report.missing_attendance
            ],
        ),
        "untaken_sessions": (
            len(report.untaken_sessions),
            [f"{x.starts_at.strftime(ru_date)} {x.cohort}: {x.topic}" for x in report.untaken_sessions],
        ),
        "stale_defenses": (
            len(report.stale_defenses),
            [f"{who(d.person)}, {d.cohort}: без оценки {d.days} дн." for d in report.stale_defenses],
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
        click.echo(f"{SECTION_TITLES[key]}: {total}")
        for line in lines[:SHOWN]:
            click.echo(f"  {line}")
        if total > min(len(lines), SHOWN):
            click.echo(f"  … и ещё {total - min(len(lines), SHOWN)} (все — в quality.html и data-quality --json)")


def print_data_quality(report: DataQuality, tz: ZoneInfo, *, narrowed: bool = True) -> None:
    """The form imports as text: one block per section, each line naming file, row and column.

    `narrowed=False` (the whole report, after `print_quality`): the form accounts' probable matches and
    district spellings are already among the report's sections, so only files, rejects and links are added.
    """
    click.echo("Файлы форм (последние версии):")
    for f in report.files:
        state = "принят" if f.status == "imported" else f"НЕ ПРИНЯТ: {f.message}"
        click.echo(
            f"  {f.form} / {f.file}: {state}; строк {f.rows_read}, принято {f.rows_imported}, "
            f"отклонено {f.rows_rejected}; загружен {local(f.imported_at, tz):%d.%m.%y %H:%M}"
        )
    if not report.files:
        click.echo("  (нет загруженных файлов)")
    click.echo(f"Отклонённые строки: {sum(1 for r in report.rejects if r.row)}")
    for r in report.rejects:
        if r.row:
            click.echo(f"  {r.form}: {reject_text(r)}")
    click.echo("Как люди из форм связаны с участниками:")
    for name, how in report.links.items():
        click.echo(
            f"  {name}: по e-mail {how['email']}, вероятно по ФИО и округу {how['probable']}, "
            f"несколько кандидатов {how['ambiguous']}, новые {how['new']}"
        )
    if not narrowed:
        _print_dropped(report, tz)
        return
    click.echo(f"Совпадения для проверки: {len(report.matches)}")
    for x in report.matches:
        click.echo(
            f"  {x.form}: {x.account} ({x.district or 'округ не указан'}) → участник #{x.participant_id} "
            f"{x.participant} ({x.participant_district or 'округ не указан'}): {x.reason}"
        )
    _print_dropped(report, tz)
    click.echo(f"Неизвестные написания округов: {len(report.unknown_districts)}")
    for spelling, n in report.unknown_districts.items():
        click.echo(f"  «{spelling}»: {n}")


def _print_dropped(report: DataQuality, tz: ZoneInfo) -> None:
    click.echo(f"Строки, исчезнувшие из исправленных файлов: {len(report.dropped)}")
    for d in report.dropped:
        click.echo(
            f"  {d.form} / {d.file}, строка {d.row}: {d.name} ({_KIND.get(d.kind, d.kind)}), "
            f"нет с {local(d.since, tz):%d.%m.%y}"
        )
