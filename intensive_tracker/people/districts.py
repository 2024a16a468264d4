"""The district registry: canonical names, aliases and merges, and what a spelling resolves to.

An unknown spelling is never guessed: it resolves to None («не распределён») and is reported.
Spellings are compared by `people.spelling.normalize`.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import _
from intensive_tracker.people.spelling import normalize, word_order_key

if TYPE_CHECKING:
    from intensive_tracker.config import DistrictSettings, Settings


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
    _configured: set[str] = field(default_factory=set)
    _by_word_order: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for entry in self.entries.values():
            for spelling in (entry.name, *entry.aliases, *((entry.full_name,) if entry.full_name else ())):
                self._add(spelling, entry.name)

    def _add(self, spelling: str, name: str, *, configured: bool = False) -> None:
        key = normalize(spelling)
        if not key:
            raise ConfigError(_("districts: синоним {alias} после нормализации пуст", alias=repr(spelling)))
        other = self._index.get(key)
        if other is not None and other != name:
            raise ConfigError(
                _(
                    "districts: {spelling} означал бы и {other}, и {name}",
                    spelling=repr(spelling),
                    other=repr(other),
                    name=repr(name),
                )
            )
        self._index[key] = name
        if configured:
            self._configured.add(key)
        # Two names sharing a word set would make word order meaningful: such a set resolves to none.
        order = word_order_key(key)
        if order in self._by_word_order and self._by_word_order[order] != name:
            self._by_word_order[order] = None
        else:
            self._by_word_order[order] = name

    def add_alias(self, spelling: str, name: str) -> None:
        """An alias from the config (`[districts.aliases]`)."""
        if name not in self.entries:
            raise ConfigError(
                _(
                    "districts.aliases: «{spelling}» указывает на «{name}», а такого округа нет в реестре "
                    "(напишите каноническое название, например «{example}»)",
                    spelling=spelling,
                    name=name,
                    example=self.suggest(name) or "Балашиха",  # not a message: a district's name
                )
            )
        self._add(spelling, name, configured=True)

    @property
    def names(self) -> list[str]:
        return sorted(self.entries)

    def territorial(self, *, on: date | None = None) -> list[str]:
        """Districts (not groups) that existed on `on` (all of them when None), alphabetical."""
        return sorted(
            e.name for e in self.entries.values() if e.kind == "territorial" and (on is None or e.active_on(on))
        )

    def groups(self) -> list[str]:
        """The non-territorial groups (ГОО, НОО), alphabetical."""
        return sorted(e.name for e in self.entries.values() if e.kind == "group")

    def resolve(self, spelling: str | None, *, on: date | None = None) -> Resolution:
        """The canonical district a spelling means on a date (the latest name when None), or None and why."""
        if spelling is None or not spelling.strip():
            return Resolution(None, _("район не указан"))
        key = normalize(spelling)
        name = self._index.get(key)
        if name is not None:
            entry = self.entries[name]
            if normalize(entry.name) == key:
                reason = _("по названию")
            else:
                reason = _("по синониму из конфигурации") if key in self._configured else _("по синониму")
        else:
            name = self._by_word_order.get(word_order_key(key)) if key else None
            if name is None:
                return Resolution(None, _("неизвестное написание «{spelling}»", spelling=spelling.strip()))
            entry = self.entries[name]
            reason = _("по названию (другой порядок слов)")
        hops = 0
        while entry.merged_into and (on is None or not entry.active_on(on)):
            reason = _(
                "{name} вошёл в {into} с {date}",
                name=entry.name,
                into=entry.merged_into,
                date=format(entry.merged_on, "%d.%m.%Y"),
            )
            entry = self.entries[entry.merged_into]
            hops += 1
            if hops > len(self.entries):
                raise ConfigError(_("districts: слияния {name} образуют цикл", name=repr(name)))
        return Resolution(entry.name, reason)

    def find_in_text(self, text: str | None) -> str | None:
        """The one district named inside a longer text («МБОУ СОШ № 2 г.о. Дмитровский»), as a hint to review."""
        words = normalize(text or "").split()
        found = {
            self._index[" ".join(words[i : i + n])]
            for n in (1, 2, 3)
            for i in range(len(words) - n + 1)
            if " ".join(words[i : i + n]) in self._index
        }
        return found.pop() if len(found) == 1 else None

    def suggest(self, spelling: str) -> str | None:
        """The district a spelling probably means (a typo), for a person to confirm; never used to resolve."""
        key = normalize(spelling)
        if not key:
            return None
        close = difflib.get_close_matches(key, list(self._index), n=1, cutoff=0.8)
        return self._index[close[0]] if close else None


def _entries_from(data: Mapping[str, object]) -> list[DistrictEntry]:
    entries = []
    for kind, section in (("territorial", "district"), ("group", "group")):
        items = cast("list[dict[str, Any]]", data.get(section, []) or [])  # parsed TOML: a list of tables
        for item in items:
            entries.append(
                DistrictEntry(
                    name=item["name"],
                    kind=kind,
                    aliases=tuple(item.get("aliases", ())),
                    merged_into=item.get("merged_into"),
                    merged_on=item.get("merged_on"),
                    full_name=item.get("full_name"),
                )
            )
    return entries


def _amend(shipped: DistrictEntry | None, extra: DistrictEntry) -> DistrictEntry:
    """A config entry adds a district, or amends a shipped one: aliases add up, the rest replaces."""
    if shipped is None:
        return replace(extra, kind=extra.kind or "territorial")
    return DistrictEntry(
        name=shipped.name,
        kind=extra.kind or shipped.kind,
        aliases=tuple(dict.fromkeys((*shipped.aliases, *extra.aliases))),
        merged_into=extra.merged_into or shipped.merged_into,
        merged_on=extra.merged_on or shipped.merged_on,
        full_name=extra.full_name or shipped.full_name,
    )


def load_registry(
    *, extra_aliases: Mapping[str, str] | None = None, extra_districts: Iterable[DistrictEntry] = ()
) -> Registry:
    """The shipped registry plus what the config adds."""
    text = (resources.files("intensive_tracker.people") / "data" / "districts.toml").read_text("utf-8")
    entries = {e.name: e for e in _entries_from(tomllib.loads(text))}
    for extra in extra_districts:
        entries[extra.name] = _amend(entries.get(extra.name), extra)
    for entry in entries.values():
        if entry.merged_into and entry.merged_into not in entries:
            raise ConfigError(
                _(
                    "districts: «{name}» слит с неизвестным «{into}»",
                    name=entry.name,
                    into=entry.merged_into,
                )
            )
        if bool(entry.merged_into) != bool(entry.merged_on):
            raise ConfigError(_("districts: «{name}» нужны и merged_into, и merged_on (дата слияния)", name=entry.name))
    registry = Registry(entries)
    for spelling, name in (extra_aliases or {}).items():
        registry.add_alias(spelling, name)
    return registry


def registry_from_settings(settings: Settings) -> Registry:
    """The registry every command uses: the shipped data plus `[districts]` of the config."""
    return registry_from_section(settings.districts)


def registry_from_section(section: DistrictSettings) -> Registry:
    """The shipped registry plus one `[districts]` section."""
    extras = [
        DistrictEntry(
            name=x.name,
            kind=x.kind or "",
            aliases=tuple(x.aliases),
            merged_into=x.merged_into,
            merged_on=x.merged_on,
            full_name=x.full_name,
        )
        for x in section.extra
    ]
    return load_registry(extra_aliases=section.aliases, extra_districts=extras)


def check_recipients(recipients: Mapping[str, list[str]], registry: Registry) -> dict[str, list[str]]:
    """`[districts.recipients]` keyed by canonical names; unknown names raise one ConfigError naming all."""
    unknown = [name for name in recipients if name not in registry.entries]
    if unknown:
        hints = []
        for name in unknown:
            meant = registry.resolve(name).name or registry.suggest(name)
            hints.append(_("«{name}» (пишите «{meant}»)", name=name, meant=meant) if meant else f"«{name}»")
        raise ConfigError(
            _(
                "districts.recipients: не каноническое название округа: {names}. Названия — те же, что в отчёте "
                "(см. intensive_tracker/people/data/districts.toml)",
                names=", ".join(hints),
            )
        )
    return {name: list(emails) for name, emails in recipients.items()}


def validate_districts(settings: Settings, *, source: str) -> None:
    """`[districts]` against the registry: aliases, extra districts and recipients (ConfigError naming the entry).

    Run when the config is loaded (`app.load_settings`), so a typo in a district name fails the
    command before any work.
    """
    try:
        check_recipients(settings.districts.recipients, registry_from_section(settings.districts))
    except ConfigError as e:
        raise ConfigError(_("{source}: ключ districts: {error}", source=source, error=e)) from None


def district_recipients(settings: Settings) -> dict[str, list[str]]:
    """Who receives each district's email, keyed by canonical name (validated against the registry)."""
    return check_recipients(settings.districts.recipients, registry_from_settings(settings))
