"""The report site rendered from the hand-built data set: pages, links, escaping, sentences, plurals."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from intensive_tracker.i18n import ngettext, using
from intensive_tracker.people.districts import load_registry
from intensive_tracker.periods import launch_title
from intensive_tracker.reports.figures import build_summary
from intensive_tracker.reports.paths import district_page
from intensive_tracker.site.pages import site_rosters
from intensive_tracker.site.render import render_site
from intensive_tracker.text import UNASSIGNED, slug
from tests import report_data
from tests.html_pages import find_table, local_target, parse, texts, visible_text

MSK = ZoneInfo("Europe/Moscow")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
# The page's own words: headings, header cells, captions, figure names, the navigation.
OWN_WORDS = {"title", "h1", "h2", "h3", "th", "caption", "dt", "nav", "figcaption", "footer"}


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Path:
    report_data.load(engine)
    registry = load_registry()
    summary = build_summary(engine, registry, tz=MSK, now=datetime(2024, 2, 1, 12, tzinfo=MSK))
    out = tmp_path / "site"
    render_site(summary, out, rosters=site_rosters(engine, registry, summary))
    return out


def test_plural_forms() -> None:
    """1 участник, 2 участника, 5 участников, 11 участников, 21 участник, 112 участников."""
    forms = [ngettext("{n} участник", "{n} участников", n) for n in (1, 2, 5, 11, 21, 22, 112, 0)]
    assert forms == [
        "1 участник",
        "2 участника",
        "5 участников",
        "11 участников",
        "21 участник",
        "22 участника",
        "112 участников",
        "0 участников",
    ]


def test_slugs_are_ascii_and_stable() -> None:
    """District file names are transliterated ASCII, so links work in any browser and zip tool."""
    assert slug("Сергиев Посад") == "sergiev-posad" and slug("Щёлково") == "shchelkovo"
    assert district_page(UNASSIGNED) == "districts/ne-raspredelen.html"


def test_pages_written_and_linked(site: Path) -> None:
    """index → program-year pages → district pages, plus exports and summary.json; no link dangles."""
    for name in (
        "index.html",
        "ku-2023-24.html",
        "ku-2022-23.html",
        "report.xlsx",
        "summary.json",
        "quality.html",
        "districts/balashikha.html",
        "districts/khimki.html",
        "districts/ne-raspredelen.html",
    ):
        assert (site / name).is_file(), name
    for page in site.rglob("*.html"):
        for href in parse(page).links:
            target = local_target(page, href)
            assert target is None or target.is_file(), f"{page.name}: broken link {href}"
            assert not href.startswith(("http:", "https:", "//", "/")), f"{page.name}: non-relative link {href}"


def test_year_page_sessions_table_in_the_report_shape(site: Path) -> None:
    """«№ п/п / Дата проведения / Тема / Количество участников», dates as 20.09.23, 0 for the empty session."""
    rows = find_table(site / "ku-2023-24.html", ["№ п/п", "Дата проведения", "Тема", "Количество участников"])
    assert rows[:4] == [
        ["1", "20.09.23", "Первое", "2"],
        ["2", "11.10.23", "Второе", "2"],
        ["3", "15.11.23", report_data.TRICKY_TOPIC, "0"],
        ["4", "24.01.24", "Четвёртое", "2"],
    ]


def test_sentences_computed_with_plural_forms(site: Path) -> None:
    """«защиту успешно прошли 2 педагога из 2 го» and the absent districts, alphabetical, are computed."""
    text = visible_text(site / "ku-2023-24.html")
    assert "защиту успешно прошли 2 педагога из 2 го." in text
    absent = [
        d
        for d in load_registry().territorial(on=datetime(2023, 9, 1).date())
        if d not in {"Балашиха", "Люберцы", "Химки"}
    ]
    assert "Не принимали участие педагоги из округов: " + ", ".join(absent) + "." in text
    assert "6 посещений занятий; их совершили 4 участника" in text


def test_defense_tables_by_terms_and_half_years(site: Path) -> None:
    """The «Сроки участия в проекте» row and the half-year table use the report's labels."""
    page = site / "ku-2023-24.html"
    terms = find_table(
        page,
        [
            "",
            "Сроки участия в проекте",
            "Количество педагогов, прошедших защиту методической разработки на заключительном этапе",
        ],
    )
    assert terms == [["1", "2023", "1"], ["2", "2024 (1 полугодие)", "1"]]
    halves = find_table(page, ["Полугодие", "Прошли защиту", "Не прошли защиту", "Ожидают оценки"])
    assert halves == [["2023 (2 полугодие)", "1", "1", "0"], ["2024 (1 полугодие)", "1", "0", "1"]]


def test_district_table_with_share_and_links(site: Path) -> None:
    """Per district: participants, attendances, defenses passed, share defended; names link to district pages."""
    page = site / "ku-2023-24.html"
    rows = find_table(page, ["Городской округ", "Участников", "Посещений", "Прошли защиту", "Доля прошедших защиту"])
    assert rows == [
        ["Балашиха", "1", "3", "1", "100 %"],
        ["Люберцы", "1", "1", "0", "0 %"],
        ["Химки", "1", "1", "1", "100 %"],
        [UNASSIGNED, "1", "1", "0", "0 %"],
    ]
    assert "districts/balashikha.html" in parse(page).links


def test_district_page_lists_only_its_people_with_status(site: Path) -> None:
    """A district page holds its own people with the session matrix, sessions attended and defense, nobody else's."""
    rows = find_table(
        site / "districts" / "balashikha.html",
        [
            "№ п/п",
            "ФИО",
            "Образовательная организация",
            "Категория",
            "20.09.23",
            "11.10.23",
            "15.11.23",
            "24.01.24",
            "Посещено занятий",
            "Защита",
            "Дата защиты",
            "Оценка",
        ],
    )
    assert rows[0] == [
        "1",
        "Антонова Анна",
        "Школа № 1",
        "молодой педагог",
        "П",
        "П",
        "Н",
        "П",
        "3",
        "защита пройдена",
        "31.12.23",
        "8",
    ]
    text = visible_text(site / "districts" / "balashikha.html")
    assert "Дмитриева" not in text and "Власова" not in text
    nobody = visible_text(site / "districts" / "ne-raspredelen.html")
    assert "Власова Вера" in nobody and "ожидает оценки" in nobody


def test_every_value_is_html_escaped(site: Path) -> None:
    """Markup in a name or a topic is shown as text, never interpreted."""
    raw = (site / "districts" / "lyubertsy.html").read_text("utf-8")
    assert "<script>" not in raw and "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    year = (site / "ku-2023-24.html").read_text("utf-8")
    assert "<b>жирный</b>" not in year and "&lt;b&gt;жирный&lt;/b&gt;" in year


def test_pages_are_self_contained(site: Path) -> None:
    """No external script, stylesheet, font or image: the site works offline and prints."""
    for page in site.rglob("*.html"):
        assert parse(page).sources == [], page.name
        raw = page.read_text("utf-8")
        assert "<script" not in raw and "@import" not in raw and "url(" not in raw
        assert "@media print" in raw and 'name="viewport"' in raw


def test_quality_page_of_another_step_is_kept(site: Path, engine: Engine) -> None:
    """An existing quality.html (written by the data-quality report) is never overwritten."""
    (site / "quality.html").write_text("<p>качество</p>", "utf-8")
    registry = load_registry()
    summary = build_summary(engine, registry, tz=MSK, now=datetime(2024, 2, 1, 12, tzinfo=MSK))
    render_site(summary, site, rosters=site_rosters(engine, registry, summary))
    assert (site / "quality.html").read_text("utf-8") == "<p>качество</p>"
    assert 'href="quality.html">Качество данных' in (site / "index.html").read_text("utf-8")


def test_stale_district_page_removed(site: Path, engine: Engine) -> None:
    """Pages from an earlier run whose district or program-year has no data now are deleted."""
    stale = site / "districts" / "klin.html"
    stale.write_text("<p>old</p>", "utf-8")
    old_year = site / "ku-2019-20.html"
    old_year.write_text("<p>old</p>", "utf-8")
    registry = load_registry()
    summary = build_summary(engine, registry, tz=MSK, now=datetime(2024, 2, 1, 12, tzinfo=MSK))
    render_site(summary, site, rosters=site_rosters(engine, registry, summary))
    assert not stale.exists() and not old_year.exists()
    assert (site / "ku-2023-24.html").is_file() and (site / "quality.html").is_file()


def test_freshness_warning_shown_when_sync_is_old(engine: Engine, tmp_path: Path) -> None:
    """A page rendered three days after the last successful sync says the data may be stale."""
    report_data.load(engine)
    registry = load_registry()
    summary = build_summary(engine, registry, tz=MSK, now=datetime(2099, 1, 1, tzinfo=MSK))
    render_site(summary, tmp_path / "old", rosters={})
    text = visible_text(tmp_path / "old" / "index.html")
    assert "Последняя успешная синхронизация была больше двух дней назад" in text
    assert "последняя успешная синхронизация с Moodle" in text


def test_pages_say_their_language(site: Path) -> None:
    """Russian by default: <html lang="ru"> on every page."""
    for page in site.rglob("*.html"):
        assert '<html lang="ru">' in page.read_text("utf-8"), page.name


@pytest.fixture
def english_site(engine: Engine, tmp_path: Path) -> tuple[Path, list[str]]:
    """The same site written with `[report] language = "en"`; and the data on it (names, districts, titles)."""
    report_data.load(engine)
    registry = load_registry()
    out = tmp_path / "site"
    with using("en"):
        summary = build_summary(engine, registry, tz=MSK, now=datetime(2024, 2, 1, 12, tzinfo=MSK))
        rosters = site_rosters(engine, registry, summary)
        render_site(summary, out, rosters=rosters)
        # Launch titles are made by `periods` (not yet through the catalog): data for this test.
        launches = [
            launch_title(x.term, y.school_year, x.cohort, x.title)
            for p in summary.programs
            for y in p.years
            for x in y.launches
        ]
    data = [
        *(t for p in summary.programs for t in (p.full_title, p.title) if t),
        *(d for by_district in rosters.values() for d in by_district),
        *launches,
    ]
    return out, sorted(data, key=len, reverse=True)


def test_english_pages_have_english_words(english_site: tuple[Path, list[str]]) -> None:
    """With language "en" the headings, header cells, captions and navigation of every page are English."""
    site, data = english_site
    pages = [
        site / "index.html",
        site / "ku-2023-24.html",
        site / "districts" / "balashikha.html",
        site / "quality.html",
    ]
    for page in pages:
        assert '<html lang="en">' in page.read_text("utf-8"), page.name
        words = texts(page, OWN_WORDS)
        assert words, page.name
        for text in words:
            for value in data:
                text = text.replace(value, "")
            assert not CYRILLIC.search(text), f"{page.name}: «{text}»"
    index = texts(site / "index.html", {"h1", "h2", "caption"})
    assert "Results of the educational intensives" in index and "Exports" in index and "By school year" in index
    year = site / "ku-2023-24.html"
    assert find_table(year, ["No.", "Date held", "Topic", "Number of participants"])[0] == [
        "1",
        "20.09.23",
        "Первое",
        "2",
    ]
    text = visible_text(year)
    assert "In the 2023/24 school year, 2 teachers from 2 districts passed the defense." in text
    assert "6 attendances at sessions, made by 4 participants" in text
    assert "No teachers took part from these districts: Богородский," in text
    assert "Funnel 2023/24: attended sessions → passed the defense" in text and "(100%)" in text
    district = visible_text(site / "districts" / "balashikha.html")
    assert "Балашиха: participants and results" in district and "1 participant, 3 attendances" in district


def test_english_pages_keep_markup_and_escaping(english_site: tuple[Path, list[str]]) -> None:
    """A translated message still escapes the data it carries and keeps its own markup."""
    site, _data = english_site
    year = (site / "ku-2023-24.html").read_text("utf-8")
    assert "<b>жирный</b>" not in year and "&lt;b&gt;жирный&lt;/b&gt;" in year
    raw = (site / "districts" / "lyubertsy.html").read_text("utf-8")
    assert "<script>" not in raw and "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
