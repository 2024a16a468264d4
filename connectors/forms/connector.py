"""The forms connector: every file of every configured form → one `FormBatch` with its good rows and rejects.

A row is identified within its form by the respondent's e-mail, else by name and district; its account
is `<form>:<row key>`, so the same person in the next sign-in list of the form is the same account,
and a corrected file updates the rows it changed.
"""

from __future__ import annotations

import glob
import hashlib
import logging
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

from connectors.base import (
    AttendanceRecord,
    BatchFailure,
    CohortRef,
    DefenseRecord,
    EntryRef,
    FormBatch,
    PersonRecord,
    RegistrationRecord,
    Reject,
    SessionRecord,
    SourceWarning,
)
from connectors.forms.mapping import ColumnMap, Located, form_cohort
from connectors.forms.readers import SUFFIXES, FileRejected, read_table
from connectors.forms.rows import FormRow, row_model, validate_row
from intensive_tracker.config import FormSettings, Settings
from intensive_tracker.errors import InputError
from intensive_tracker.i18n import _
from intensive_tracker.people.identity import name_key
from intensive_tracker.people.spelling import normalize

log = logging.getLogger(__name__)
SOURCE = "forms"
MAX_VALUE = 200  # characters of a rejected value kept for the report


def row_key(row: FormRow) -> str:
    """The row's identity within its form: the e-mail, else the folded name with the folded district."""
    if row.email:
        return row.email
    return f"name:{name_key(row.name)}|{normalize(row.district or '')}"


def form_files(form: FormSettings) -> list[Path]:
    """The files of a form, sorted by name: the paths/globs of `files`, or the exports lying in `inbox`."""
    if form.inbox is not None:
        folder = Path(form.inbox)
        if not folder.is_dir():
            raise InputError(_("форма {form}: папки входящих {folder} нет", form=form.name, folder=folder))
        found = [
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(("~$", "."))
        ]  # «~$…» is Excel's lock file of an open workbook
        return sorted(found, key=lambda p: p.name)
    patterns = [form.files] if isinstance(form.files, str) else list(form.files or [])
    paths: set[Path] = set()
    for pattern in patterns:
        if glob.has_magic(pattern):
            paths.update(Path(p) for p in glob.glob(pattern) if Path(p).is_file())
        elif Path(pattern).is_file():
            paths.add(Path(pattern))
        else:
            raise InputError(
                _("форма {form}: файла {file} нет; исправьте files в конфигурации", form=form.name, file=pattern)
            )
    return sorted(paths, key=lambda p: (p.name, str(p)))


class FormsConnector:
    """Yields one FormBatch per file of each configured form (or of one form, for `import-form`)."""

    name = SOURCE
    order: ClassVar[int] = 20

    @classmethod
    def from_settings(cls, settings: Settings, stack: ExitStack) -> FormsConnector | None:
        """The connector for the configured `[[forms]]`; None when there are none."""
        return cls(settings) if settings.forms else None

    def __init__(self, settings: Settings, *, only: str | None = None, file: Path | None = None) -> None:
        self.settings = settings
        self.forms = [f for f in settings.forms if only is None or f.name == only]
        self.file = file
        self.seen: list[tuple[str, str, str]] = []  # (form, file name, sha256) of every file yielded, for the CLI
        self.cohorts = {f.name: form_cohort(settings, f) for f in self.forms}  # config errors before any read

    def batches(self, cursors: Mapping[str, str]) -> Iterator[FormBatch | BatchFailure]:
        """Files are read one at a time, so a big inbox never sits in memory at once."""
        for form in self.forms:
            try:
                paths = [self.file] if self.file is not None else form_files(form)
            except InputError as e:
                yield BatchFailure(SOURCE, form.cohort, e)
                continue
            seen: dict[str, Path] = {}
            for path in paths:
                if path.name in seen:
                    refused = self._refused(
                        form,
                        path,
                        _(
                            "{path}: у другого файла формы {form} то же имя ({other}); переименуйте один из них",
                            path=path,
                            form=form.name,
                            other=seen[path.name],
                        ),
                    )
                    self.seen.append((refused.form, refused.file_name, refused.sha256))
                    yield refused
                    continue
                seen[path.name] = path
                batch = self.read_file(form, path)
                self.seen.append((batch.form, batch.file_name, batch.sha256))
                yield batch

    def _cohort_ref(self, form: FormSettings) -> CohortRef:
        c = self.cohorts[form.name]
        return CohortRef(key=c.key, program=c.program, title=c.title)

    def _batch(self, form: FormSettings, path: Path, data: bytes, **fields: Any) -> FormBatch:
        """The batch of one file of `form`: its cohort, name and fingerprint, plus `fields`."""
        return FormBatch(
            source=SOURCE,
            cohort=self._cohort_ref(form),
            form=form.name,
            form_kind=form.kind,
            file_name=path.name,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            cohort_defined=self.cohorts[form.name].defined,
            **fields,
        )

    def _refused(self, form: FormSettings, path: Path, message: str, data: bytes = b"") -> FormBatch:
        log.warning(_("форма {form}: {message}", form=form.name, message=message))
        return self._batch(form, path, data, file_error=message)

    def read_file(self, form: FormSettings, path: Path) -> FormBatch:
        """One file → its batch; a file that cannot be read at all becomes a batch with `file_error`."""
        label = path.name
        limit = int(form.max_size_mb * 1_000_000)
        data = b""
        try:
            if path.stat().st_size <= limit:  # an oversized file is refused by read_table, unread
                data = path.read_bytes()
            table = read_table(
                path,
                label=label,
                max_bytes=limit,
                encoding=form.encoding,
                delimiter=form.delimiter,
                sheet=form.sheet,
                max_rows=form.max_rows,
            )
            located = ColumnMap({str(k): v for k, v in form.columns.items()}).locate(table, label=label)
        except FileRejected as e:
            return self._refused(form, path, str(e), data)
        except OSError as e:
            return self._refused(
                form, path, _("{label}: файл не читается ({reason})", label=label, reason=e.strerror or e), data
            )
        batch = self._batch(form, path, data, enrolments=None, sessions=[] if form.kind == "attendance" else None)
        self._rows(form, table.rows, located, batch)
        return batch

    def _rows(self, form: FormSettings, rows: list[tuple[int, list[Any]]], located: Located, batch: FormBatch) -> None:
        model = row_model(form)
        tz = self.settings.tz
        by_key: dict[str, tuple[int, FormRow]] = {}
        listed_rows: set[int] = set()
        for number, cells in rows:
            if number <= located.header_row:
                continue
            values = {f: cells[i] if i < len(cells) else None for f, i in located.columns.items()}
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values()):
                continue  # a blank line, or a row with nothing in the mapped columns
            batch.rows_read += 1
            result = validate_row(model, values, form=form, tz=tz)
            if isinstance(result, list):
                if len(listed_rows) >= form.max_rejects:
                    batch.rejects_unlisted += 1  # counted, not stored: a junk file must not fill the database
                    continue
                listed_rows.add(number)
                for error in result:
                    shown = "" if error.value is None else str(error.value)
                    batch.rejects.append(
                        Reject(
                            file=batch.file_name,
                            row=number,
                            column=located.headers.get(error.field, error.field),
                            value=shown[:MAX_VALUE],
                            reason=error.reason,
                        )
                    )
                continue
            key = row_key(result)
            if form.kind == "attendance" and form.session_date is None:
                # A list covering several sessions: one row per person *and* session.
                key += f"@{_session_day(form, result, self.settings).isoformat()}"
            if key in by_key:
                batch.warnings.append(
                    SourceWarning(
                        source=SOURCE,
                        item=batch.file_name,
                        itemid=str(number),
                        code="repeated",
                        message=_(
                            "{file}, строка {row} повторяет строку {earlier} (тот же человек): оставлена более поздняя",
                            file=batch.file_name,
                            row=number,
                            earlier=by_key[key][0],
                        ),
                    )
                )
            by_key[key] = (number, result)
        for key, (number, row) in by_key.items():
            self._entry(form, batch, key, number, row)

    def _entry(self, form: FormSettings, batch: FormBatch, key: str, number: int, row: FormRow) -> None:
        external_id = f"{form.name}:{row_key(row)}"  # the person, whatever session the row is for
        batch.people.append(
            PersonRecord(
                external_id=external_id,
                full_name=row.name,
                email=row.email,
                district_raw=row.district,
                school=row.school,
                position=row.position,
                category=row.category,
            )
        )
        session_key = None
        if form.kind == "registration":
            batch.registrations.append(RegistrationRecord(external_id=external_id, registered_at=row.timestamp))
        elif form.kind == "attendance":
            day = _session_day(form, row, self.settings)
            session_key = f"form:{form.name}:{day.isoformat()}"
            assert batch.sessions is not None
            if all(s.source_key != session_key for s in batch.sessions):
                starts = datetime.combine(day, form.session_time, tzinfo=self.settings.tz).astimezone(UTC)
                batch.sessions.append(
                    SessionRecord(
                        source_key=session_key,
                        starts_at=starts,
                        topic=form.session_topic,
                        speaker=form.session_speaker,
                        taken=True,
                    )
                )
            batch.attendance.append(
                AttendanceRecord(
                    session_key=session_key,
                    external_id=external_id,
                    status="form",
                    status_label=_("в списке"),
                    present=True,
                )
            )
        else:
            grading = row.outcome or row.grade
            graded_at = row.timestamp
            if graded_at is None:  # the row model requires a timestamp when no defense_date is set
                assert form.defense_date is not None
                graded_at = datetime.combine(
                    form.defense_date, datetime.min.time(), tzinfo=self.settings.tz
                ).astimezone(UTC)
            batch.defenses.append(
                DefenseRecord(
                    external_id=external_id,
                    outcome=grading.outcome if grading else "pending",
                    grade=row.grade.grade if row.grade else None,
                    graded_at=graded_at,
                )
            )
        batch.entries.append(EntryRef(row_key=key, row=number, external_id=external_id, session_key=session_key))


def _session_day(form: FormSettings, row: FormRow, settings: Settings) -> date:
    """The configured session date, else the local date of the row's sign-in time."""
    if form.session_date is not None:
        return form.session_date
    assert row.timestamp is not None  # the row model requires it when no session_date is set
    return row.timestamp.astimezone(settings.tz).date()
