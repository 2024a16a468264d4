"""Wording shared by pages, e-mails and documents: Russian plural forms and Latin slugs (numbers: `i18n`)."""

from __future__ import annotations

import re

from intensive_tracker.i18n import N_, _

# The district key of people without a resolved district (stored in figures, in file names as its slug).
UNASSIGNED = N_("не распределён")

_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)


def transliterate(text: str) -> str:
    """Lower-case Latin letters for Cyrillic ones; other characters are kept."""
    return "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())


def slug(text: str) -> str:
    """ASCII file/address-safe form: «Сергиев Посад» → "sergiev-posad" (links survive any web server and zip tool)."""
    return re.sub(r"[^a-z0-9]+", "-", transliterate(text)).strip("-") or "x"


def district_label(name: str) -> str:
    """A district as people read it: its own name, or «не распределён» in the active language."""
    return _(UNASSIGNED) if name == UNASSIGNED else name
