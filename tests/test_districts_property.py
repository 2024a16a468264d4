"""Property tests: generated messy spellings resolve to the right district, garbage never to a district."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from intensive_tracker.people.districts import load_registry
from intensive_tracker.people.spelling import normalize, word_order_key

REGISTRY = load_registry()
# (spelling, the district it means today): every shipped name, alias and full name.
KNOWN = sorted(
    {
        (spelling, REGISTRY.resolve(entry.name).name)
        for entry in REGISTRY.entries.values()
        for spelling in (entry.name, *entry.aliases, *([entry.full_name] if entry.full_name else []))
    }
)
KNOWN_KEYS = {normalize(s) for s, _ in KNOWN} | {word_order_key(normalize(s)) for s, _ in KNOWN}

PREFIXES = [
    "",
    "г.о. ",
    "г.о.",
    "Г.О. ",
    "го ",
    "ГО ",
    "г. ",
    "г.",
    "городской округ ",
    "Городской округ ",
    "муниципальный округ ",
    "г/о ",
    "район ",
]
SUFFIXES = [
    "",
    " г.о.",
    " го",
    " ГО",
    " городской округ",
    " район",
    " муниципальный округ",
    " (г.о.)",
    ", Московская область",
    " МО",
]
SPACES = [" ", "  ", "\u00a0", " \u00a0 ", "\t"]
DASHES = ["-", "–", "—", "‑", " - ", " "]
QUOTES = [("", ""), ("«", "»"), ('"', '"'), ("“", "”")]
CYRILLIC = "абвгдежзийклмнопрстуфхцчшщыэюя"


@st.composite
def messy(draw: st.DrawFn) -> tuple[str, str]:
    """A known spelling dressed as people type it, and the district it must resolve to."""
    spelling, district = draw(st.sampled_from(KNOWN))
    words = spelling.replace("-", " - ").split()
    if len(words) > 1 and "-" not in words and draw(st.booleans()):
        words.reverse()  # «Посад Павловский»
    text = draw(st.sampled_from(SPACES)).join(words)
    text = text.replace(" - ", draw(st.sampled_from(DASHES)))
    left, right = draw(st.sampled_from(QUOTES))
    text = left + text + right
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    text = "".join(c.upper() if f else c.lower() for c, f in zip(text, flips))
    if draw(st.booleans()):
        text = text.replace("е", "ё").replace("Е", "Ё")
    elif draw(st.booleans()):
        text = text.replace("ё", "е").replace("Ё", "Е")
    prefix, suffix = draw(st.sampled_from(PREFIXES)), draw(st.sampled_from(SUFFIXES))
    if draw(st.booleans()):
        prefix, suffix = "", " " + prefix.strip() if prefix.strip() else suffix  # «Балашиха г.о.»
    pad = draw(st.sampled_from(["", " ", "  ", "\u00a0"]))
    return pad + prefix + text + suffix + pad, district


@given(messy())
@settings(max_examples=600, deadline=None)
def test_messy_spellings_resolve_to_their_district(case: tuple[str, str]) -> None:
    """Random case, prefixes/suffixes, ё/е, spaces, quotes, dashes and word order never change the district."""
    spelling, district = case
    assert REGISTRY.resolve(spelling).name == district, repr(spelling)


@st.composite
def near_miss(draw: st.DrawFn) -> str:
    """A known spelling with a letter added, dropped or changed, a number glued on, or two names run together."""
    (spelling, _), (other, _) = draw(st.sampled_from(KNOWN)), draw(st.sampled_from(KNOWN))
    kind = draw(st.sampled_from(["insert", "delete", "replace", "digit", "two names", "prefix only"]))
    i = draw(st.integers(0, len(spelling) - 1))
    letter = draw(st.sampled_from(CYRILLIC))
    if kind == "insert":
        text = spelling[:i] + letter + spelling[i:]
    elif kind == "delete":
        text = spelling[:i] + spelling[i + 1 :]
    elif kind == "replace":
        text = spelling[:i] + letter + spelling[i + 1 :]
    elif kind == "digit":
        text = f"{spelling}{draw(st.integers(1, 99))}"
    elif kind == "two names":
        text = f"{spelling} {other}"
    else:
        text = draw(st.sampled_from([p for p in PREFIXES if p.strip()]))
    return draw(st.sampled_from(PREFIXES)) + text


@given(near_miss())
@settings(max_examples=600, deadline=None)
def test_near_misses_are_never_guessed(spelling: str) -> None:
    """Garbage resolves to None («не распределён») unless it literally is a known spelling."""
    resolution = REGISTRY.resolve(spelling)
    if resolution.name is not None:
        key = normalize(spelling)
        assert key in KNOWN_KEYS or word_order_key(key) in KNOWN_KEYS, (spelling, resolution)
    else:
        assert resolution.reason.startswith(("неизвестное написание", "район не указан"))
