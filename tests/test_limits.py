"""Limits that must not fail all at once: batches past PostgreSQL's 65,535 parameters, form files of millions of rows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from connectors.forms.readers import FileRejected, read_table
from intensive_tracker.store import models as m
from tests.form_bombs import junk_workbook, people_csv
from tests.test_forms_import import run, write_config

BIG = {
    "name": "reg-big",
    "kind": "registration",
    "files": "big.csv",
    "cohort": "BIG-2024",
    "program": "ku",
    "max_size_mb": 50,
    "columns": {"full_name": "ФИО", "email": "E-mail", "district": "Городской округ"},
}


@pytest.mark.slow
def test_seventy_thousand_people_in_one_form_file_on_postgresql(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """70,000 registrations in one file import whole on PostgreSQL (over its 65,535 parameters), and again."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the limit is PostgreSQL's (SQLite has none this low)")
    people_csv(tmp_path / "big.csv", 70_000)
    config = write_config(tmp_path, db_url, BIG)
    started = time.monotonic()
    result = run(config, "import-form", "reg-big")
    first = time.monotonic() - started
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(m.Participant)).scalar_one() == 70_000
        assert session.execute(select(func.count()).select_from(m.Registration)).scalar_one() == 70_000
    result = run(config, "import-form", "reg-big")
    assert result.exit_code == 0, result.output
    print(
        f"\n70k people on {engine.dialect.name}: first import {first:.1f} s, re-run {time.monotonic() - started - first:.1f} s"
    )


# --- form files: a row limit, a cap on stored rejects, bounded memory ------------------------------

_PEAK = """
import sys
from pathlib import Path
from connectors.forms.connector import FormsConnector
from intensive_tracker.config import load_settings
settings = load_settings(Path(sys.argv[1]))
batch = FormsConnector(settings).read_file(settings.forms[0], Path(sys.argv[2]))
print(f"ROWS={batch.rows_read} ERROR={batch.file_error}")
# VmHWM, not ru_maxrss: Linux carries the forking parent's peak into ru_maxrss across exec, so a
# large test process would be measured instead of this one.
hwm = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
print(f"PEAK_RSS_KB={hwm.split()[1]}")
"""


def _read_in_subprocess(config: Path, path: Path) -> tuple[str, float]:
    """The forms connector reads one file in a fresh interpreter: (what it said, peak resident memory in MB)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(config), str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=True,
    )
    (peak,) = re.findall(r"PEAK_RSS_KB=(\d+)", done.stdout)
    return done.stdout, int(peak) / 1024


def test_a_file_over_max_rows_is_refused_whole_naming_the_limit(tmp_path: Path) -> None:
    """The sixth non-empty row of a CSV with max_rows = 5 refuses the file, in Russian, with the limit."""
    path = people_csv(tmp_path / "reg.csv", 5)  # a header and five people: six rows
    with pytest.raises(FileRejected, match=r"^reg\.csv: файл не принят целиком: в нём больше 5 непустых строк"):
        read_table(path, label="reg.csv", max_bytes=10**6, max_rows=5)
    assert len(read_table(path, label="reg.csv", max_bytes=10**6, max_rows=6).rows) == 6


def test_blank_rows_neither_count_nor_stay(tmp_path: Path) -> None:
    """A sheet formatted far below its data: blank rows are skipped, the numbers of the others kept."""
    path = tmp_path / "reg.csv"
    path.write_text("ФИО;E-mail\n;\n\n;\nИванова Анна;a@b.ru\n" + ";\n" * 50, "utf-8")
    table = read_table(path, label="reg.csv", max_bytes=10**6, max_rows=2)
    assert [n for n, _ in table.rows] == [1, 5]


def test_rejects_past_max_rejects_are_counted_not_stored(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """Five bad rows with max_rejects = 2: two kept with their reasons, «и ещё 3» for the rest, all five counted."""
    lines = ["ФИО;E-mail;Городской округ", "Иванова Анна;ivanova@example.ru;Клин"]
    lines += [f"Плохой {i};not-an-address-{i};Клин" for i in range(5)]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n", "utf-8")
    config = write_config(tmp_path, db_url, {**BIG, "max_rejects": 2})
    result = run(config, "import-form", "reg-big")
    assert result.exit_code == 65
    assert "строк прочитано 6, принято 1, отклонено 5" in result.stdout
    assert "big.csv: и ещё 3 отклонённые строки без подробностей (хранятся первые 2, лимит max_rejects формы)" in (
        result.stderr
    )
    with Session(engine) as session:
        stored = session.execute(select(m.FormReject.row).order_by(m.FormReject.row)).scalars().all()
    assert stored == [0, 3, 4]


@pytest.mark.slow
def test_a_small_workbook_of_three_million_junk_rows_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """Under 1 MB on disk, 3,000,000 rows: refused whole at the row limit, the reading process stays small."""
    bomb = junk_workbook(tmp_path / "big.xlsx", 3_000_000)
    assert bomb.stat().st_size < 1_000_000
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'tracker.db'}", {**BIG, "files": "big.xlsx"})
    said, peak_mb = _read_in_subprocess(config, bomb)
    assert "ERROR=big.xlsx: файл не принят целиком: в нём больше 100\u00a0000 непустых строк" in said
    print(f"\npeak memory, 3,000,000-row junk workbook: {peak_mb:.0f} MB")
    assert peak_mb < 400


@pytest.mark.slow
def test_a_legitimate_hundred_thousand_row_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """99,999 people (100,000 rows with the header) are read whole; the peak memory is measured."""
    path = people_csv(tmp_path / "big.csv", 99_999)
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'tracker.db'}", BIG)
    said, peak_mb = _read_in_subprocess(config, path)
    assert "ROWS=99999 ERROR=None" in said
    print(f"\npeak memory, 100,000-row CSV: {peak_mb:.0f} MB")
    assert peak_mb < 1500
