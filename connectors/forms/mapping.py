"""Column maps from the config: which header of an export holds which of our fields.

Headers compare folded (case, ё/е, spaces, a BOM, a trailing «*» or «:» ignored), so «Электронная
почта*» in a Yandex export matches `email = "Электронная почта"`. A field may list several headers
(a form renamed a question mid-way); the first one present is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from connectors.forms.readers import FileRejected, Table
from intensive_tracker.config import FormSettings, Settings
from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import _, ngettext

HEADER_SCAN_ROWS = 20  # a webinar platform's list starts with a few title lines before the header
_SPACES = re.compile(r"\s+")


def fold_header(value: Any) -> str:
    """The comparison key of a header cell."""
    text = "" if value is None else str(value)
    text = text.replace("\ufeff", "").replace("\u00a0", " ").lower().replace("ё", "е")  # not a message
    return _SPACES.sub(" ", text).strip().rstrip("*:").strip()


@dataclass(frozen=True)
class Located:
    """Where the mapped fields are in one file: the header row and a column index per field."""

    header_row: int
    columns: dict[str, int]  # field → 0-based column index
    headers: dict[str, str]  # field → the header as the file spells it
    extra: list[str]  # headers the map does not use (reported, not an error)


class ColumnMap:
    """The `columns` of one form: field → accepted header spellings."""

    def __init__(self, columns: dict[str, str | list[str]]) -> None:
        self.wanted = {field: [h] if isinstance(h, str) else list(h) for field, h in columns.items()}

    def locate(self, table: Table, *, label: str) -> Located:
        """The header row (the first of the top rows that holds every mapped header) and the column of each field."""
        if not any(fold_header(c) for _row, cells in table.rows for c in cells):
            raise FileRejected(_("{label}: файл пуст; выгрузите ответы формы заново", label=label))
        best: tuple[int, int, dict[str, int]] | None = None
        for number, cells in table.rows[:HEADER_SCAN_ROWS]:
            found = self._match(cells, label=label, row=number)
            if len(found) == len(self.wanted):
                headers = {f: str(cells[i]).replace("\ufeff", "").strip() for f, i in found.items()}
                used = set(found.values())
                extra = [str(c).strip() for i, c in enumerate(cells) if i not in used and fold_header(c)]
                return Located(header_row=number, columns=found, headers=headers, extra=extra)
            if best is None or len(found) > best[1]:
                best = (number, len(found), found)
        missing = [f"«{self.wanted[f][0]}»" for f in self.wanted if best is None or f not in best[2]]
        where = (
            _(" (прочитан как {encoding})", encoding=table.described_encoding)
            if table.encoding not in (None, "utf-8", "utf-8-sig")
            else ""
        )
        seen = ""
        if best is not None and table.rows:
            cells = dict(table.rows)[best[0]]
            names = ", ".join(f"«{str(c).strip()}»" for c in cells if fold_header(c))
            seen = _("; его заголовки: {headers}", headers=names)
        raise FileRejected(
            _(
                "{label}: нет столбца {missing}{where}{seen}; исправьте файл или columns формы в конфигурации",
                label=label,
                missing=", ".join(missing),
                where=where,
                seen=seen,
            )
        )

    def _match(self, cells: list[Any], *, label: str, row: int) -> dict[str, int]:
        folded = [fold_header(c) for c in cells]
        found: dict[str, int] = {}
        for field, spellings in self.wanted.items():
            for spelling in spellings:
                key = fold_header(spelling)
                hits = [i for i, f in enumerate(folded) if f == key]
                if len(hits) > 1:
                    raise FileRejected(
                        ngettext(
                            "{label}: строка {row}: столбец «{spelling}» встречается {n} раз (столбцы {columns}); "
                            "переименуйте один из них",
                            "{label}: строка {row}: столбец «{spelling}» встречается {n} раз (столбцы {columns}); "
                            "переименуйте один из них",
                            len(hits),
                            label=label,
                            row=row,
                            spelling=spelling,
                            columns=", ".join(str(h + 1) for h in hits),
                        )
                    )
                if hits:
                    found[field] = hits[0]
                    break
        return found


@dataclass(frozen=True)
class FormCohort:
    """The cohort a form's rows belong to; `defined` when the form itself defines it (not a [[cohorts]] one)."""

    key: str
    program: str
    title: str | None
    defined: bool


def form_cohort(settings: Settings, form: FormSettings) -> FormCohort:
    """The form's cohort: a configured [[cohorts]] entry, or one the form defines with `program`."""
    index = settings.forms.index(form) if form in settings.forms else 0
    where = f"forms[{index}] ({form.name})"
    configured = {c.key: c for c in settings.cohorts}
    programs = [p.key for p in settings.programs]
    if form.cohort in configured:
        cohort = configured[form.cohort]
        if form.program is not None and form.program != cohort.program:
            raise ConfigError(
                _(
                    "{where}: программа {program} отличается от программы {cohort_program} когорты {cohort}; "
                    "уберите program",
                    where=where,
                    program=repr(form.program),
                    cohort=repr(cohort.key),
                    cohort_program=repr(cohort.program),
                )
            )
        return FormCohort(key=cohort.key, program=cohort.program, title=None, defined=False)
    if form.program is None:
        raise ConfigError(
            _(
                "{where}: когорты {cohort} нет среди [[cohorts]]; назовите одну из них или задайте program, "
                "чтобы определить когорту только из форм",
                where=where,
                cohort=repr(form.cohort),
            )
        )
    if form.program not in programs:
        raise ConfigError(
            _(
                "{where}: программы {program} нет среди programs ({programs})",
                where=where,
                program=repr(form.program),
                programs=", ".join(programs),
            )
        )
    for other in settings.forms:
        if other.cohort == form.cohort and other is not form and other.cohort not in configured:
            if (other.program, other.cohort_title or form.cohort_title) != (
                form.program,
                form.cohort_title or other.cohort_title,
            ):
                raise ConfigError(
                    _(
                        "{where}: формы {form} и {other} определяют когорту {cohort} по-разному "
                        "(program или cohort_title)",
                        where=where,
                        form=repr(form.name),
                        other=repr(other.name),
                        cohort=repr(form.cohort),
                    )
                )
    # Every form naming the cohort writes the same title, so their batches never undo each other.
    title = form.cohort_title or next(
        (o.cohort_title for o in settings.forms if o.cohort == form.cohort and o.cohort_title), None
    )
    return FormCohort(key=form.cohort, program=form.program, title=title, defined=True)


def find_form(settings: Settings, name: str) -> FormSettings:
    """The `[[forms]]` entry called `name`; an unknown name lists the known ones."""
    for form in settings.forms:
        if form.name == name:
            return form
    known = ", ".join(f.name for f in settings.forms) or _("ни одной не задано")
    raise ConfigError(_("в конфигурации нет формы {name} (формы: {known})", name=repr(name), known=known))
