"""The data-quality report: each section from a small hand-built data set, escaped HTML, quality.json."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Engine

from intensive_tracker.config import Settings
from intensive_tracker.i18n import using
from intensive_tracker.people.districts import registry_from_settings
from intensive_tracker.reports.quality import build_quality
from intensive_tracker.reports.quality_types import QualityReport
from intensive_tracker.site.quality_page import render_quality
from tests.html_pages import texts
from tests.people_factories import batch, person, settings, sync

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=MOSCOW)
SCRIPT = "<script>alert(1)</script>"


def _data(engine: Engine, config: Settings) -> None:
    people = [
        person(1, "Иванова <b>Анна</b>", SCRIPT),
        person(2, "Петрова Вера", "Балашихаа"),
        person(5, "Орлова Нина", "балашихаа "),
        person(3, "Смирнова Ольга", None, school="МБОУ СОШ № 2 г.о. Дмитровский"),
        person(4, "Кузнецова Ирина", "Химки"),
        person(6, "Кузнецова Ирина", "г.о. Химки"),
        person(7, "Лебедева Яна", "Мытищи", "shared@school.ru"),
        person(8, "Лебедев Ян", "Мытищи", "SHARED@school.ru"),
    ]
    sessions = [
        ("s1", "2023-09-20 12:00", True),
        ("s2", "2023-10-11 12:00", True),
        ("s3", "2023-11-15 12:00", False),
        ("s4", "2024-09-04 12:00", False),
    ]
    ku1 = dict(sessions=sessions, present={"s1": [1, 2, 3, 4, 5], "s2": [4, 7]})
    sync(
        engine,
        config,
        [
            batch("KU-1", people, **ku1),
            batch(
                "KU-2",
                people[:4],
                sessions=[("x", "2023-12-06 12:00", True)],
                present={"x": [2]},
                defenses={2: "pending", 3: "passed"},
            ),
            batch(
                "KU-3",
                people[:4],
                sessions=[("y", "2024-05-22 12:00", True)],
                present={"y": [3]},
                defenses={3: "pending"},
            ),
        ],
    )
    # Moodle stops listing Кузнецова (4) in KU-1; her attendance stays.
    sync(
        engine,
        config,
        [
            batch(
                "KU-1",
                people,
                enrolled=[1, 2, 3, 5, 6, 7, 8],
                **ku1,
                warnings=["mod_assign_get_grades: нет права mod/assign:grade"],
            )
        ],
    )


def _build(engine: Engine, config: Settings | None = None) -> QualityReport:
    config = config or settings()
    _data(engine, config)
    return build_quality(engine, registry_from_settings(config), config, NOW)


def test_unknown_districts_grouped_with_people_reason_and_fix(engine: Engine) -> None:
    """Unknown spellings are grouped by their normalized form, counted, with examples and the alias line."""
    q = _build(engine)
    by_spelling = {u.spelling: u for u in q.unknown_districts}
    assert set(by_spelling) == {"Балашихаа", SCRIPT}
    balashikha = by_spelling["Балашихаа"]
    assert balashikha.people == 2 and balashikha.variants == ("Балашихаа", "балашихаа")
    assert [p.full_name for p in balashikha.examples] == ["Орлова Нина", "Петрова Вера"]
    assert balashikha.reason == "неизвестное написание «Балашихаа»"
    assert balashikha.alias_line == '"Балашихаа" = "Балашиха"'
    assert by_spelling[SCRIPT].suggestion is None
    assert by_spelling[SCRIPT].alias_line == '"<script>alert(1)</script>" = "каноническое название"'
    [without] = q.without_district
    assert without.person.full_name == "Смирнова Ольга" and q.without_district_total == 1
    assert without.hint == "Дмитровский"  # a hint shown to the administrator, never applied
    assert q.unassigned_people == 4


def test_people_sections(engine: Engine) -> None:
    """E-mail links are explained, same-name people in one district are offered a join, splits a split line."""
    q = _build(engine)
    [link] = q.email_links
    assert link.account == "moodle:8" and link.reason == "тот же e-mail (shared@school.ru)"
    assert link.person.accounts == ("moodle:7", "moodle:8")
    assert link.split_line == '[[people.split]]\naccount = "moodle:8"'
    [twins] = q.name_twins
    assert twins.full_name == "Кузнецова Ирина" and twins.district == "Химки"
    assert twins.join_lines == '[[people.join]]\naccounts = ["moodle:4", "moodle:6"]'
    assert q.probable_links == [] and q.manual_links == []


def test_moodle_sections(engine: Engine) -> None:
    """Unlisted people with attendance, past untaken sessions, stale defenses and the last sync's warnings."""
    q = _build(engine)
    [missing] = q.missing_attendance
    assert (missing.person.full_name, missing.cohort, missing.attendances) == ("Кузнецова Ирина", "KU-1", 2)
    assert [(s.cohort, s.starts_at.date().isoformat()) for s in q.untaken_sessions] == [("KU-1", "2023-11-15")]
    [stale] = q.stale_defenses
    assert (stale.person.full_name, stale.cohort, stale.since.date().isoformat()) == (
        "Петрова Вера",
        "KU-2",
        "2023-12-06",
    )
    assert stale.days == (NOW - stale.since).days > 30
    assert q.last_sync is not None and q.last_sync.run_id == 2
    assert [w["message"] for w in q.last_sync.warnings] == ["mod_assign_get_grades: нет права mod/assign:grade"]
    assert q.rejects_total == 0 and q.rejects == []


def test_stale_defense_days_from_config(engine: Engine) -> None:
    """[quality] stale_defense_days sets how long a pending defense may wait."""
    q = _build(engine, settings("[quality]\nstale_defense_days = 5\n"))
    assert sorted(d.cohort for d in q.stale_defenses) == ["KU-2", "KU-3"]
    assert q.stale_defense_days == 5


def test_override_that_matches_nothing_is_listed(engine: Engine) -> None:
    """A [people] entry naming no stored account is reported, and a manual link is shown."""
    config = settings(
        '[[people.split]]\naccount = "moodle:999"\nnote = "опечатка?"\n'
        '[[people.join]]\naccounts = ["moodle:4", "moodle:6"]\n'
    )
    q = _build(engine, config)
    assert [(o.kind, o.refs, o.note) for o in q.override_misses] == [("split", ("moodle:999",), "опечатка?")]
    assert [r.account for r in q.manual_links] == ["moodle:6"]
    assert q.name_twins == []


def test_html_is_escaped_and_says_how_to_fix(engine: Engine, tmp_path: Path) -> None:
    """quality.html escapes every value (a <script> spelling stays text) and names the fixes."""
    q = _build(engine)
    page = render_quality(q, tmp_path)
    html = page.read_text("utf-8")
    assert SCRIPT not in html and "<b>Анна</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "Иванова &lt;b&gt;Анна&lt;/b&gt;" in html
    assert "&#34;Балашихаа&#34; = &#34;Балашиха&#34;" in html
    assert "[districts.aliases]" in html and "intensive-tracker report" in html
    assert "4 участника" in html
    assert 'href="index.html"' in html
    assert "Отклонённые строки форм</a>: 0" in html


def test_json_lists_items_by_kind(engine: Engine, tmp_path: Path) -> None:
    """quality.json carries counts per section and one item per problem, in ISO dates."""
    q = _build(engine)
    render_quality(q, tmp_path)
    data = json.loads((tmp_path / "quality.json").read_text("utf-8"))
    assert data["schema_version"] == 1 and data["unassigned_people"] == 4
    kinds = [i["kind"] for i in data["items"]]
    assert kinds.count("unknown_district") == 2 and kinds.count("without_district") == 1
    assert {
        "email_link",
        "name_twins",
        "attendance_not_listed",
        "session_not_taken",
        "defense_pending",
        "sync_warning",
    } <= set(kinds)
    untaken = next(i for i in data["items"] if i["kind"] == "session_not_taken")
    assert untaken["date"] == "2023-11-15" and untaken["starts_at"].startswith("2023-11-15T15:00:00+03:00")
    assert data["to_fix"]["unknown_districts"] == 2 and data["to_fix"]["form_rejects"] == 0
    assert SCRIPT in json.dumps(data, ensure_ascii=False)


def test_form_rejects_are_listed(engine: Engine, tmp_path: Path) -> None:
    """Rejected form rows (table form_reject) are listed by file, row, column and reason, values escaped."""
    with engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO form_reject (form, file_name, sha256, "row", "column", value, reason) VALUES '
                "('reg', 'reg.csv', 'abc', 14, 'Городской округ', '<i>x</i>', 'пустое ФИО')"
            )
        )
    q = _build(engine)
    assert q.rejects_total == 1
    assert q.rejects == [
        {
            "form": "reg",
            "file_name": "reg.csv",
            "row": 14,
            "column": "Городской округ",
            "value": "<i>x</i>",
            "reason": "пустое ФИО",
        }
    ]
    html = render_quality(q, tmp_path).read_text("utf-8")
    assert "Отклонённые строки форм" in html and "&lt;i&gt;x&lt;/i&gt;" in html and "<i>x</i>" not in html


def test_english_quality_page(engine: Engine, tmp_path: Path) -> None:
    """With language "en" the headings, header cells and the how-to-fix paragraphs are English, commands still code."""
    q = _build(engine)
    with using("en"):
        page = render_quality(q, tmp_path)
    html = page.read_text("utf-8")
    assert '<html lang="en">' in html
    words = texts(page, {"title", "h1", "h2", "th", "nav"}, frozenset({"fix"}))
    assert "Unknown district spellings" in words and "Spelling" in words
    for words_of_one in words:
        assert not re.search(r"[А-Яа-яЁё]", words_of_one), words_of_one
    assert "<code>[districts.aliases]</code>" in html and "<code>intensive-tracker sync</code>" in html
    assert (
        'the «unassigned» row holds <span class="warning">4 participants</span>.' in html
        and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        and SCRIPT not in html
    )
    assert "Rejected form rows</a>: 0" in html
