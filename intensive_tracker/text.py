"""Wording shared by pages, e-mails and documents: Russian plural forms and Latin slugs (numbers: `i18n`)."""

from __future__ import annotations

import re

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


def plural(n: int, one: str, few: str, many: str) -> str:
    """Russian plural form: 1 участник, 2 участника, 5 участников."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many
