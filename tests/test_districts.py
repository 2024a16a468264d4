"""The district registry: canonical names, aliases, normalization, merges, config additions."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from intensive_tracker.app import parse_settings
from intensive_tracker.errors import ConfigError
from intensive_tracker.people.districts import (
    district_recipients,
    load_registry,
    registry_from_settings,
)
from intensive_tracker.people.spelling import normalize
from tests.test_demo import ABSENT

FIXTURES = Path(__file__).parent / "fixtures"
REGISTRY = load_registry()

# The 21 districts the 2023/24 report lists as not taking part (seed 002): all must be registry names.
NOT_TAKING_PART_2023_24 = ABSENT


def test_sixty_districts_in_2023_24() -> None:
    """The region had 60 городских округов in 2023/24 (39 reached + 21 listed as absent)."""
    active = REGISTRY.territorial(on=date(2023, 9, 1))
    assert len(active) == 60
    assert set(NOT_TAKING_PART_2023_24) <= set(active)


def test_groups_are_not_districts() -> None:
    """ГОО and НОО resolve, but never count among the territorial districts."""
    assert REGISTRY.groups() == ["ГОО", "НОО"]
    assert not set(REGISTRY.groups()) & set(REGISTRY.territorial())
    assert REGISTRY.resolve("государственные ОО").name == "ГОО"
    assert REGISTRY.resolve("Негосударственные образовательные организации").name == "НОО"


@pytest.mark.parametrize("name", sorted(REGISTRY.entries))
def test_every_alias_resolves(name: str) -> None:
    """Each shipped name, alias and full name resolves to its district (the latest name when merged)."""
    entry = REGISTRY.entries[name]
    expected = name
    while REGISTRY.entries[expected].merged_into:
        expected = REGISTRY.entries[expected].merged_into  # type: ignore[assignment]
    for spelling in (entry.name, *entry.aliases, *([entry.full_name] if entry.full_name else [])):
        assert REGISTRY.resolve(spelling).name == expected, spelling
        if entry.merged_on:
            before = entry.merged_on.replace(year=entry.merged_on.year - 1)
            assert REGISTRY.resolve(spelling, on=before).name == name


def test_real_moodle_spellings_resolve() -> None:
    """All 150+ stored spellings of the real course resolve as the answer key says; empty is unassigned."""
    spellings = json.loads((FIXTURES / "moodle-answer-key.json").read_text("utf-8"))["users"]["district_spellings"]
    assert len(spellings) > 150
    for spelling, answer in spellings.items():
        expected = None if answer["canonical"] == "(не указан)" else answer["canonical"]
        assert REGISTRY.resolve(spelling).name == expected, spelling


@pytest.mark.parametrize(
    "spelling",
    [
        "г.о. Балашиха",
        "Балашиха г.о.",
        "го Балашиха",
        "Городской округ Балашиха",
        "балашиха ",
        "БАЛАШИХА",
        "г/о Балашиха",
        "г о Балашиха",
        "Балашиха (г.о.)",
        "«Балашиха»",
        "Балашиха\u00a0",
        "\u00a0Балашиха  г.о.",
        "ГО Балашиха",
        "муниципальный округ Балашиха",
        "Балашиха район",
        "г. Балашиха",
        "г.Балашиха",
        "городской округ Балашиха Московской области",
        "Железнодорожный",
    ],
)
def test_prefixes_suffixes_and_noise(spelling: str) -> None:
    """The messy spellings of PRODUCT.md resolve to the same district."""
    assert REGISTRY.resolve(spelling).name == "Балашиха"


def test_dashes_spaces_and_word_order() -> None:
    """Any dash or a space in place of a hyphen, and swapped words, still find the district."""
    for spelling in (
        "Наро—Фоминский",
        "Наро – Фоминский",
        "наро фоминский г.о.",
        "Посад Павловский",
        "Орехово‑Зуевский",
    ):
        assert REGISTRY.resolve(spelling).name in {"Наро-Фоминский", "Павловский Посад", "Орехово-Зуевский"}
    assert normalize("Г.О.\u00a0ЩЁЛКОВО") == normalize("щелково") == "щелково"


@pytest.mark.parametrize(
    "spelling",
    [
        "Балашихаа",
        "Балаших",
        "го",
        "г.о.",
        "Москва",
        "Зеленоград",
        "Химки Лобня",
        "Сергиево",
        "Посад",
        "Подольск-2",
        "<script>alert(1)</script>",
    ],
)
def test_unknown_spellings_are_not_guessed(spelling: str) -> None:
    """Typos, fragments and foreign places resolve to None with the spelling in the reason."""
    resolution = REGISTRY.resolve(spelling)
    assert resolution.name is None
    assert "неизвестное написание" in resolution.reason or "не указан" in resolution.reason


def test_empty_is_not_given() -> None:
    """An empty or blank profile field says «район не указан»."""
    for value in (None, "", "  ", "\u00a0"):
        assert REGISTRY.resolve(value).reason == "район не указан"


def test_suggest_is_a_hint_only() -> None:
    """A close typo gets a suggestion to review, and still resolves to None."""
    assert REGISTRY.suggest("Балашихаа") == "Балашиха"
    assert REGISTRY.resolve("Балашихаа").name is None
    assert REGISTRY.suggest("Владивосток") is None


def test_merged_district_by_date() -> None:
    """A merged district is itself before the merge date and the absorber from it, with the reason."""
    assert REGISTRY.resolve("Ивантеевка", on=date(2019, 9, 1)).name == "Ивантеевка"
    after = REGISTRY.resolve("г.о. Ивантеевка", on=date(2020, 1, 1))
    assert after.name == "Пушкинский" and "вошёл в Пушкинский с 01.01.2020" in after.reason
    assert "Ивантеевка" in REGISTRY.territorial(on=date(2019, 12, 31))
    assert "Ивантеевка" not in REGISTRY.territorial(on=date(2020, 1, 1))


def _settings(toml: str):  # type: ignore[no-untyped-def]
    import tomllib

    return parse_settings(tomllib.loads(toml), source="config.toml")


def test_config_adds_aliases_districts_and_merges() -> None:
    """[districts] adds an alias, a new district, and a merge of a shipped district from a date."""
    settings = _settings("""
[districts.aliases]
"Балашиха-2" = "Балашиха"
"Новая Слобода" = "Слободской"
[[districts.extra]]
name = "Слободской"
[[districts.extra]]
name = "Протвино"
aliases = ["Протвинский"]
merged_into = "Серпухов"
merged_on = 2024-01-01
""")
    registry = registry_from_settings(settings)
    assert registry.resolve("Балашиха-2").reason == "по синониму из конфигурации"
    assert registry.resolve("Балашиха 2").name == "Балашиха"
    assert registry.resolve("г.о. Новая Слобода").name == "Слободской"
    assert registry.resolve("Протвинский", on=date(2023, 9, 1)).name == "Протвино"
    assert registry.resolve("Протвино", on=date(2024, 9, 1)).name == "Серпухов"
    assert registry.entries["Протвино"].aliases == ("Протвинский",)
    assert len(registry.territorial(on=date(2023, 9, 1))) == 61


@pytest.mark.parametrize(
    "toml, fragment",
    [
        ('[districts.aliases]\n"Балашиха-2" = "Балашихинск"\n', "«Балашихинск»"),
        ('[districts.aliases]\n"Химки" = "Балашиха"\n', "означал бы и"),
        (
            '[[districts.extra]]\nname = "Икс"\nmerged_into = "Игрек"\nmerged_on = 2020-01-01\n',
            "слит с неизвестным «Игрек»",
        ),
        ('[[districts.extra]]\nname = "Икс"\nmerged_into = "Балашиха"\n', "нужны и merged_into, и merged_on"),
        (
            '[districts.recipients]\n"г.о. Балашиха" = ["mms@example.org"]\n"Атлантида" = ["a@example.org"]\n',
            "«г.о. Балашиха» (пишите «Балашиха»), «Атлантида»",
        ),
        ('[districts.recipients]\n"Балашиха" = ["not an email"]\n', "неверные: not an email"),
    ],
)
def test_config_errors_name_the_problem(toml: str, fragment: str) -> None:
    """A wrong [districts] entry fails at load with exit 78 and a message naming the entry."""
    with pytest.raises(ConfigError) as info:
        _settings(toml)
    assert fragment in str(info.value)
    assert info.value.exit_code == 78
    assert "config.toml" in str(info.value)


def test_recipients_keyed_by_canonical_name() -> None:
    """district_recipients returns the configured addresses by canonical district."""
    settings = _settings(
        '[districts.recipients]\n"Балашиха" = ["mms@example.org", "umc@example.org"]\n"Королёв" = ["k@example.org"]\n'
    )
    assert district_recipients(settings) == {
        "Балашиха": ["mms@example.org", "umc@example.org"],
        "Королёв": ["k@example.org"],
    }


def test_district_named_in_a_school_name_is_a_hint() -> None:
    """find_in_text names the one district a school's name mentions; two or none give None."""
    assert REGISTRY.find_in_text("МБОУ ООШ № 2 г.о. Дмитровский") == "Дмитровский"
    assert REGISTRY.find_in_text("МАОУ «Лицей» г. Павловский Посад") == "Павловский Посад"
    assert REGISTRY.find_in_text("Гимназия г. Химки и г. Лобня") is None
    assert REGISTRY.find_in_text("МБОУ СОШ № 17") is None
    assert REGISTRY.find_in_text(None) is None
