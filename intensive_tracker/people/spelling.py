"""How a district spelling is folded into its comparison key: case, quotes, dashes and «г.о.»-like words.

The registry (`people.districts`) indexes every name and alias by `normalize`; nothing here knows a district.
"""

from __future__ import annotations

import functools
import re

# Words that say "this is a district" and carry no identity; removed wherever they stand
# (the real spellings put them before or after the name: «г.о. Балашиха», «Балашиха г.о.»).
# Longer phrases first, so that «городской округ» goes before «округ».
_NOISE_PHRASES = [
    "городской округ",
    "городского округа",
    "муниципальный округ",
    "муниципального округа",
    "муниципальный район",
    "муниципального района",
    "московская область",
    "московской области",
    "московская",
    "московской",
    "область",
    "области",
    "город",
    "района",
    "район",
    "округ",
    "мо",
]
# Abbreviations: the ones ending in a dot may touch the name («г.о.Химки», «г.Видное»); the
# others must stand alone, so that «го» never eats the start of a word.
_NOISE_ABBREVIATIONS = re.compile(
    r"(?<![\w-])(?:"
    r"г\s*[./]\s*о\s*\.|г\s*\.|гор\s*\.|м\s*\.\s*о\s*\.|обл\s*\."
    r"|(?:г\s*[./]\s*о|г\s+о|го|г|гор|р-н|обл)(?![\w-])"
    r")"
)
# All phrases in one pass, the longest first at each position («городской округ» before «округ»).
_NOISE_WORDS = re.compile(
    r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in sorted(_NOISE_PHRASES, key=len, reverse=True)) + r")(?![\w-])"
)
_QUOTES = re.compile(r"[«»\"'„“”‘’`]")
_BRACKETS = re.compile(r"[()\[\]{}]")
_DASHES = re.compile(r"\s*[‐‑‒–—―-]\s*")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Case, ё/е, non-breaking spaces, quotes and dashes folded; spaces collapsed."""
    text = text.replace("\u00a0", " ").replace("\u202f", " ").lower().replace("ё", "е")
    text = _QUOTES.sub(" ", text)
    text = _BRACKETS.sub(" ", text)
    text = _DASHES.sub("-", text)
    return _SPACES.sub(" ", text).strip()


@functools.lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """The comparison key of a district spelling: `fold` plus every «г.о.»-like word removed.

    Hyphens become spaces last, so «Наро Фоминский» and «Наро-Фоминский» share a key.
    """
    folded = fold(text)
    folded = _NOISE_ABBREVIATIONS.sub(" ", folded)
    folded = _NOISE_WORDS.sub(" ", folded)
    folded = folded.replace(".", " ").replace(",", " ").replace("-", " ")
    return _SPACES.sub(" ", folded).strip()


def word_order_key(key: str) -> str:
    """A normalized key with its words sorted: «посад павловский» finds «павловский посад»."""
    return " ".join(sorted(key.split()))
