"""Keeps the message catalog in step with the code: `make messages` extracts and updates, the tests check.

    python -m intensive_tracker.catalog update   # messages.pot from the code and templates; ru/en .po updated
    python -m intensive_tracker.catalog check    # what is missing or wrong, one line each; exit 1 if anything

Extraction finds `_("…")`, `N_("…")` and `ngettext("…", "…", n)` in Python and in the Jinja templates.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from string import Formatter

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po
from jinja2.ext import babel_extract

from intensive_tracker.i18n import DOMAIN, LANGUAGES, locale_dir

KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PYTHON_PACKAGES = ("intensive_tracker", "connectors", "jobs")
TEMPLATE_PACKAGE = "templates"
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
LATIN = re.compile(r"[A-Za-z]")
PLURAL_FORMS = {"ru": 3, "en": 2}
CATALOG_STARTED = datetime(2026, 12, 3, tzinfo=UTC)


def project_root() -> Path:
    return locale_dir().parent.parent


def _new_catalog(lang: str | None = None) -> Catalog:
    return Catalog(
        locale=lang,
        domain=DOMAIN,
        project="intensive-tracker",
        version="1",
        copyright_holder="intensive-tracker",
        msgid_bugs_address="",
        # A fixed date, not today's: a header that changes on every run would make every branch conflict.
        creation_date=CATALOG_STARTED,
        charset="utf-8",
        fuzzy=False,
    )


def extract(root: Path | None = None) -> Catalog:
    """Every message the code and the templates use, with where they use it."""
    root = root or project_root()
    catalog = _new_catalog()
    sources: list[tuple[Path, list[tuple[str, object]]]] = [
        (root / package, [("**.py", "python")]) for package in PYTHON_PACKAGES
    ]
    sources.append((root / TEMPLATE_PACKAGE, [("**.html", babel_extract), ("**.txt", babel_extract)]))
    for folder, method_map in sources:
        for filename, lineno, message, comments, context in extract_from_dir(
            str(folder),
            method_map,  # type: ignore[arg-type]
            keywords=KEYWORDS,
            comment_tags=("TRANSLATORS:",),
            strip_comment_tags=True,
        ):
            location = f"{folder.name}/{filename}"
            catalog.add(message, None, [(location, lineno)], auto_comments=comments, context=context)
    return catalog


def _po_path(lang: str) -> Path:
    return locale_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(lang: str) -> Catalog:
    path = _po_path(lang)
    if not path.exists():
        return _new_catalog(lang)
    with path.open("rb") as handle:
        return read_po(handle, locale=lang, domain=DOMAIN)


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        # Sorted and without line numbers, so two branches adding messages merge without conflicts.
        write_po(handle, catalog, sort_output=True, include_lineno=False, ignore_obsolete=True, width=120)


def update(root: Path | None = None) -> None:
    """messages.pot from the sources; each language's .po gains the new messages and loses the gone ones."""
    template = extract(root)
    _write(template, locale_dir() / f"{DOMAIN}.pot")
    for lang in LANGUAGES:
        catalog = read_catalog(lang)
        catalog.revision_date = CATALOG_STARTED
        catalog.last_translator = "intensive-tracker"
        catalog.language_team = lang
        # No fuzzy guesses: a changed message is untranslated until someone translates it (check says so).
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False
        _write(catalog, _po_path(lang))


def _fields(text: str) -> set[str]:
    return {name for _text, name, _spec, _conv in Formatter().parse(text) if name is not None}


def _forms(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string or ""]


def _ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


def problems(root: Path | None = None) -> list[str]:
    """What keeps the catalog from serving every message in both languages; empty when all is well."""
    found: list[str] = []
    current = extract(root)
    wanted = {m.id if isinstance(m.id, str) else tuple(m.id) for m in current if m.id}
    catalogs = {lang: read_catalog(lang) for lang in LANGUAGES}
    for message in current:
        if not message.id:
            continue
        ids = _ids(message)
        where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
        try:
            fields = set().union(*(_fields(i) for i in ids))
        except ValueError as error:
            found.append(f"{where}: «{ids[0]}» is not a valid format string ({error})")
            continue
        if any("{{" in i or "}}" in i for i in ids):
            found.append(f"{where}: «{ids[0]}» has doubled braces; write the text without braces")
        source_is_russian = any(CYRILLIC.search(i) for i in ids)
        for lang, catalog in catalogs.items():
            entry = catalog.get(message.id if isinstance(message.id, str) else tuple(message.id))
            plural = not isinstance(message.id, str)
            needs_translation = (lang == "en" and source_is_russian) or (
                lang == "ru" and (plural or (not source_is_russian and LATIN.search(ids[0])))
            )
            if not needs_translation:
                continue
            if entry is None:
                found.append(f"{where}: «{ids[0]}» is not in {lang}.po; run `make messages`")
                continue
            forms = _forms(entry)
            if entry.fuzzy or not all(forms):
                found.append(f"{where}: «{ids[0]}» has no {lang} translation")
                continue
            if plural and len(forms) != PLURAL_FORMS[lang]:
                found.append(f"{where}: «{ids[0]}» needs {PLURAL_FORMS[lang]} plural forms in {lang}.po")
            for form in forms:
                try:
                    form_fields = _fields(form)
                except ValueError as error:
                    found.append(f"{where}: the {lang} of «{ids[0]}» is not a valid format string ({error})")
                    continue
                if form_fields != fields and not (plural and form_fields | {"n"} == fields | {"n"}):
                    found.append(
                        f"{where}: the {lang} of «{ids[0]}» has fields {sorted(form_fields)}, not {sorted(fields)}"
                    )
                if lang == "en" and CYRILLIC.search(form):
                    found.append(f"{where}: the English of «{ids[0]}» has Cyrillic letters: «{form}»")
    on_disk = _pot_ids()
    if on_disk != wanted:
        gone, new = sorted(map(str, on_disk - wanted))[:3], sorted(map(str, wanted - on_disk))[:3]
        found.append(f"messages.pot is out of date (new: {new}, gone: {gone}); run `make messages`")
    return found


def _pot_ids() -> set[object]:
    path = locale_dir() / f"{DOMAIN}.pot"
    if not path.exists():
        return set()
    with path.open("rb") as handle:
        template = read_po(handle)
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in template if m.id}


def main(argv: Iterable[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["update"]:
        update()
        return 0
    if args == ["check"]:
        lines = problems()
        for line in lines:
            print(line)  # noqa: T201 (a developer's tool)
        return 1 if lines else 0
    print(__doc__)  # noqa: T201
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
