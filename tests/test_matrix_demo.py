"""The demo's district matrix: its XLSX adds up to the year page, `person` finds people and agrees with the pages."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select

from intensive_tracker.cli import cli
from intensive_tracker.config import load_settings
from intensive_tracker.mail.plan import plan_mails
from intensive_tracker.mail.workbook import participants_workbook
from intensive_tracker.people.districts import registry_from_settings
from intensive_tracker.reports.paths import district_page
from intensive_tracker.reports.roster import rosters
from intensive_tracker.reports.roster_types import FORM_SIGN_IN
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import make_engine
from tests.html_pages import parse


def _config(site: Path) -> Path:
    return site.parent / "config.toml"


def test_each_district_xlsx_has_a_column_per_session_and_adds_up_to_the_year_page(demo_site: Path) -> None:
    """Every district's attachment: one date column per held session; its present marks sum to the year page's attendances."""
    settings = load_settings(_config(demo_site))
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        present = set(conn.execute(select(m.Attendance.status).where(m.Attendance.present)).scalars()) | {FORM_SIGN_IN}
        absent = set(conn.execute(select(m.Attendance.status).where(m.Attendance.present.is_(False))).scalars())
    assert present and not present & absent  # an acronym alone says whether a mark counts
    summary = json.loads((demo_site / "summary.json").read_text("utf-8"))
    plan = plan_mails(
        settings.model_copy(update={"mail": settings.mail.model_copy(update={"lab_address": "lab@x.invalid"})}),  # type: ignore[union-attr]
        engine,
        registry_from_settings(settings),
        period="2023/24",
    )
    checked = 0
    for program in summary["programs"]:
        year = next(y for y in program["years"] if y["school_year"] == "2023/24")
        held = sorted(s["date"] for s in year["sessions"])
        page = {d["district"]: d["attendances"] for d in year["by_district"]}
        for mail in (x for x in plan.mails if x.program_key == program["key"]):
            sheet = load_workbook(io.BytesIO(participants_workbook(mail))).active
            header = [c.value for c in sheet[1]]
            dates = [h.date().isoformat() for h in header if hasattr(h, "date")]
            assert dates == held, (program["key"], mail.district)
            first = header.index(next(h for h in header if hasattr(h, "date")))
            marks = [c.value for row in sheet.iter_rows(min_row=2) for c in row[first : first + len(dates)]]
            assert sum(1 for v in marks if v in present) == page[mail.district], (program["key"], mail.district)
            assert sheet.freeze_panes and sheet.auto_filter.ref
            checked += 1
    assert checked > 40


def test_person_finds_a_misspelt_and_a_yo_variant_and_agrees_with_the_district_page(demo_site: Path) -> None:
    """A name with е for ё and one letter wrong finds the person; the card's figures are those of the district page."""
    config = _config(demo_site)
    settings = load_settings(config)
    engine = make_engine(settings.database_url)
    by_district = rosters(engine, registry_from_settings(settings), program_key="ku", school_year="2023/24")
    district, row = next(
        (d, r)
        for d, roster in by_district.items()
        for r in roster.rows
        if "ё" in r.full_name and r.defense == "passed" and r.sessions_attended > 1
    )
    surname, first_name = row.full_name.split()[:2]
    for query in (row.full_name.replace("ё", "е").upper(), surname.replace("ё", "е")[:-1] + "ы " + first_name):
        result = CliRunner().invoke(cli, ["--config", str(config), "person", query, "--json"])
        assert result.exit_code == 0, result.output
        cards = [c for c in json.loads(result.output)["matches"] if c["participant_id"] == row.participant_id]
        assert len(cards) == 1, query
        year = next(y for y in cards[0]["years"] if y["program"] == "ku" and y["school_year"] == "2023/24")
        assert year["listed_under"] == district
        # The district page's first section is «Конструирование урока» 2023/24 (newest year first).
        table = next(t for t in parse(demo_site / district_page(district)).tables if "Посещено занятий" in t[0])
        line = next(r for r in table if row.full_name in r)
        assert str(year["sessions_attended"]) in line and year["defense"]["label"] in line
        assert sum(s["present"] for s in year["sessions"]) == year["sessions_attended"]
        assert year["defense"]["date"] is not None and year["defense"]["grade"] is not None


def test_nobody_found_is_a_message_and_exit_1(demo_site: Path) -> None:
    """A query matching nobody prints a Russian message on stderr and exits 1, no traceback."""
    result = CliRunner().invoke(cli, ["--config", str(_config(demo_site)), "person", "Щщщщщ Ъъъъ"])
    assert result.exit_code == 1
    assert "Никого не найдено" in result.output and "Traceback" not in result.output


def test_person_pages_are_private_and_linked_from_rosters_only(demo_site: Path, tmp_path: Path) -> None:
    """Every roster row links to its card (0600); the district e-mails link to no card and no other person."""
    pages = list((demo_site / "people").glob("*.html"))
    assert pages and all(p.stat().st_mode & 0o777 == 0o600 for p in pages)
    linked = {
        h
        for p in (demo_site / "districts").glob("*.html")
        for h in re.findall(r'href="\.\./people/(\d+)\.html"', p.read_text("utf-8"))
    }
    assert linked == {p.stem for p in pages}
    out = tmp_path / "preview"
    result = CliRunner().invoke(cli, ["--config", str(_config(demo_site)), "email", "--preview", "--outbox", str(out)])
    assert result.exit_code == 0, result.output
    for eml in out.glob("*.eml"):
        assert b"people/" not in eml.read_bytes()
