"""The district registry and the normalization that maps messy spellings onto it.

An unknown spelling is never guessed: it resolves to None («не распределён») and is reported.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources

from intensive_tracker.errors import ConfigError

UNASSIGNED = "не распределён"

# Words that say "this is a district" and carry no identity; removed wherever they stand
# (the real spellings put them before or after the name: «г.о. Балашиха», «Балашиха г.о.»).
_NOISE_PHRASES = [
    "городской округ", "муниципальный округ", "муниципальный район", "московская область", "московской области",
    "город", "район", "округ", "мо",
]
_NOISE_ABBREVIATIONS = re.compile(r"(?<![\w])(г\.\s*о\.?|г\s*\.|го|г\.?о|гор\.|р-н|м\.о\.)(?![\w])")
_QUOTES = re.compile(r"[«»\"'„“”‘’`]")
_DASHES = re.compile(r"\s*[‐‑‒–—―-]\s*")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Case, ё/е, non-breaking spaces, quotes and dashes folded; spaces collapsed."""
    text = text.replace("\u00a0", " ").replace("\u202f", " ").lower().replace("ё", "е")
    text = _QUOTES.sub(" ", text)
    text = _DASHES.sub("-", text)
    return _SPACES.sub(" ", text).strip()


# A region repeats a few hundred spellings over tens of thousands of people; the report resolves
# each person's district, so the key is computed once per spelling (issue 9).
@lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """The comparison key of a district spelling: `fold` plus every «г.о.»-like word removed."""
    folded = fold(text)
    folded = _NOISE_ABBREVIATIONS.sub(" ", folded)
    for phrase in _NOISE_PHRASES:
        folded = re.sub(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", " ", folded)
    folded = folded.replace(".", " ").replace(",", " ")
    return _SPACES.sub(" ", folded).strip(" -")


@dataclass(frozen=True)
class DistrictEntry:
    name: str
    kind: str = "territorial"  # territorial | group
    aliases: tuple[str, ...] = ()
    merged_into: str | None = None
    merged_on: date | None = None
    full_name: str | None = None

    def active_on(self, day: date) -> bool:
        return self.merged_on is None or day < self.merged_on


@dataclass(frozen=True)
class Resolution:
    """Where a spelling landed and why: the data-quality report shows `reason`."""

    name: str | None
    reason: str


@dataclass
class Registry:
    entries: dict[str, DistrictEntry]
    _index: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for entry in self.entries.values():
            for spelling in (entry.name, *entry.aliases):
                self._add(spelling, entry.name)

    def _add(self, spelling: str, name: str) -> None:
        key = normalize(spelling)
        if not key:
            raise ConfigError(f"districts: the alias {spelling!r} is empty once normalized")
        other = self._index.get(key)
        if other is not None and other != name:
            raise ConfigError(f"districts: {spelling!r} would mean both {other!r} and {name!r}")
        self._index[key] = name

    @property
    def names(self) -> list[str]:
        return sorted(self.entries)

    def territorial(self, *, on: date | None = None) -> list[str]:
        """Districts (not groups) that existed on `on` (all of them when None), alphabetical."""
        return sorted(
            e.name for e in self.entries.values()
            if e.kind == "territorial" and (on is None or e.active_on(on))
        )

    def resolve(self, spelling: str | None, *, on: date | None = None) -> Resolution:
        """The canonical district a spelling means on a date, or None with the reason."""
        if spelling is None or not spelling.strip():
            return Resolution(None, "район не указан")
        key = normalize(spelling)
        name = self._index.get(key)
        if name is None:
            return Resolution(None, f"неизвестное написание «{spelling.strip()}»")
        entry = self.entries[name]
        reason = "по названию" if normalize(entry.name) == key else "по синониму"
        hops = 0
        while entry.merged_into and (on is None or not entry.active_on(on)):
            reason = f"{entry.name} вошёл в {entry.merged_into} с {entry.merged_on:%d.%m.%Y}"
            entry = self.entries[entry.merged_into]
            hops += 1
            if hops > len(self.entries):
                raise ConfigError(f"districts: merges of {name!r} form a cycle")
        return Resolution(entry.name, reason)


def _entries_from(data: Mapping[str, object]) -> list[DistrictEntry]:
    entries = []
    for kind, section in (("territorial", "district"), ("group", "group")):
        for item in data.get(section, []) or []:  # type: ignore[union-attr]
            entries.append(DistrictEntry(
                name=item["name"], kind=kind, aliases=tuple(item.get("aliases", ())),
                merged_into=item.get("merged_into"), merged_on=item.get("merged_on"),
                full_name=item.get("full_name"),
            ))
    return entries


def load_registry(*, extra_aliases: Mapping[str, str] | None = None,
                  extra_districts: Iterable[DistrictEntry] = ()) -> Registry:
    """The shipped registry plus what the config adds."""
    text = (resources.files("intensive_tracker") / "data" / "districts.toml").read_text("utf-8")
    entries = {e.name: e for e in _entries_from(tomllib.loads(text))}
    for extra in extra_districts:
        entries[extra.name] = extra
    for entry in entries.values():
        if entry.merged_into and entry.merged_into not in entries:
            raise ConfigError(f"districts: {entry.name!r} is merged into unknown {entry.merged_into!r}")
    registry = Registry(entries)
    for spelling, name in (extra_aliases or {}).items():
        if name not in entries:
            raise ConfigError(f"districts.aliases: {spelling!r} points to unknown district {name!r}")
        registry._add(spelling, name)
    return registry
