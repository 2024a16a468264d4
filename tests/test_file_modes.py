"""Files holding personal data are 0600 in 0700 folders whatever the umask; `[files] group` opens them to one group."""

from __future__ import annotations

import grp
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from intensive_tracker import files
from intensive_tracker.store.engine import make_engine
from tests.test_forms_import import FORMS, GOOGLE, SIGNIN, run, write_config


@pytest.fixture(params=[0o022, 0o000])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """A permissive umask for the test (restored after it), as on a careless server."""
    old = os.umask(request.param)
    yield request.param
    os.umask(old)
    files.use_group(None)


def _world(tmp_path: Path, *extra: str) -> Path:
    """A config with a form, a SQLite database in data/, and the report and previews in out/."""
    for name in ("google_registration.csv", "bom_signin.csv"):
        (tmp_path / name).write_bytes((FORMS / name).read_bytes())
    config = write_config(tmp_path, "sqlite:///data/tracker.db", GOOGLE, SIGNIN)
    config.write_text(
        config.read_text("utf-8")
        + '\n[report]\nout_dir = "out/report"\n'
        + '\n[mail]\nfrom_address = "lab@example.ru"\npreview_dir = "out/mail-preview"\n'
        + '\n[districts.recipients]\n"Балашиха" = ["umc@balashikha.example.ru"]\n'
        + "".join(extra),
        "utf-8",
    )
    return config


def _modes(root: Path) -> dict[str, int]:
    """Every file and folder under `root` (root itself included) → its permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def _write_everything(config: Path) -> None:
    assert run(config, "sync").exit_code in (0, 65)  # the export has three bad rows on purpose
    assert run(config, "report").exit_code == 0
    result = run(config, "email", "--preview")
    assert result.exit_code == 0, result.output


def test_database_report_and_previews_are_private_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """With umask 022 or 000: the database and its WAL/SHM/lock, every page, export and .eml 0600, folders 0700."""
    config = _world(tmp_path)
    _write_everything(config)
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'tracker.db'}")
    with engine.begin() as conn:  # -wal and -shm exist while a connection is open
        conn.execute(text("UPDATE participant SET school = school"))
        data = _modes(tmp_path / "data")
    engine.dispose()
    out = _modes(tmp_path / "out")
    assert {"tracker.db", "tracker.db-wal", "tracker.db-shm"} <= set(data), data
    report = tmp_path / "out" / "report"
    for expected in ("index.html", "quality.json", "summary.json", "annual-report.docx", "report.xlsx", "csv"):
        assert (report / expected).exists(), expected
    assert any(name.endswith(".eml") for name in out) and "mail-preview/index.html" in out
    wrong = {
        name: oct(mode)
        for tree, root in ((data, tmp_path / "data"), (out, tmp_path / "out"))
        for name, mode in tree.items()
        if mode != (0o700 if (root / name).is_dir() else 0o600)
    }
    assert wrong == {}


def test_a_configured_group_gets_read_access(tmp_path: Path, umask: int) -> None:
    """`[files] group` (here the user's own group): files 0640 and folders 0750, owned by that group."""
    group = grp.getgrgid(os.getgid()).gr_name
    config = _world(tmp_path, f'\n[files]\ngroup = "{group}"\n')
    _write_everything(config)
    for root in (tmp_path / "data", tmp_path / "out"):
        for name, mode in _modes(root).items():
            path = root / name
            assert mode == (0o750 if path.is_dir() else 0o640), (name, oct(mode))
            assert path.stat().st_gid == os.getgid()


def test_an_unknown_group_is_a_config_error(tmp_path: Path) -> None:
    """A group the machine lacks is named in a config error (exit 78), before anything is written."""
    config = _world(tmp_path, '\n[files]\ngroup = "no-such-group-here"\n')
    result = run(config, "report")
    assert result.exit_code == 78
    assert "[files] group: группы 'no-such-group-here' на этой машине нет" in result.output
    files.use_group(None)
