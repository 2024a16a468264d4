"""No traceback, ever: every verb in each state a new installation meets ends with a message and a documented code.

States: a fresh config copied from config.example.toml (token variable unset, Moodle URL unreachable on
127.0.0.1) with no database file; the same with an empty database (schema, no rows); a database behind
the schema (migrated only to the first revision). `daemon` and `serve` run as real processes, stopped
the way an administrator stops them.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner

from intensive_tracker.cli import cli
from intensive_tracker.store.engine import make_engine
from intensive_tracker.store.schema import _alembic_config, ensure_schema
from tests.synckit import ROOT

# docs/reference.md, «Exit codes» (1 is also `person` finding nobody and `db current` behind).
DOCUMENTED = {0, 1, 2, 65, 69, 75, 77, 78}
TOKEN_ENV = "INTENSIVE_TRACKER_MOODLE_TOKEN"
STATES = ("fresh", "empty", "behind")
VERBS: list[list[str]] = [
    ["check"],
    ["check", "--json"],
    ["sync"],
    ["report"],
    ["status"],
    ["status", "--json"],
    ["db", "current"],
    ["db", "upgrade"],
    ["data-quality"],
    ["data-quality", "--json"],
    ["data-quality", "--form", "reg-ku-2023"],
    ["import-form", "reg-ku-2023"],
    ["import-form", "no-such-form"],
    ["person", "Иванова"],
    ["person", "--json", "Иванова"],
    ["email", "--status"],
    ["email", "--preview"],
    ["email", "--send"],
    ["email", "--resend", "1"],
    ["annual-report", "--out", "annual.docx"],
]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_state(folder: Path, state: str) -> Path:
    """config.toml as a new user copies it, pointing at nothing that answers; the database in `state`."""
    text = (ROOT / "config.example.toml").read_text("utf-8")
    text = text.replace('url = "https://zavuch.asou-mo.ru"', f'url = "http://127.0.0.1:{_closed_port()}"')
    text = text.replace("retries = 3", "retries = 0")
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.toml"
    config.write_text(text, "utf-8")
    if state != "fresh":
        engine = make_engine(f"sqlite:///{folder / 'intensive_tracker.db'}")
        if state == "empty":
            ensure_schema(engine)
        else:
            command.upgrade(_alembic_config(engine), "0001")
        engine.dispose()
    return config


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv("INTENSIVE_TRACKER_CONFIG", raising=False)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("args", VERBS, ids=lambda a: " ".join(a))
def test_every_verb_ends_with_a_message_and_a_documented_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state: str, args: list[str]
) -> None:
    """No exception escapes, no «Traceback» is printed, the exit code is one of the documented table."""
    config = make_state(tmp_path / "lab", state)
    monkeypatch.chdir(tmp_path / "lab")
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code in DOCUMENTED, result.output
    if result.exit_code not in (0, 1):
        assert result.output.strip(), "a failure says why"


def test_report_before_any_sync_renders_a_page_saying_how_to_get_data(tmp_path: Path) -> None:
    """`report` on a fresh database: exit 0, a workbook with a sheet, and a page that says to run `sync`."""
    config = make_state(tmp_path / "lab", "fresh")
    result = CliRunner().invoke(cli, ["--config", str(config), "report"])
    assert result.exit_code == 0, result.output
    index = Path(result.stdout.strip())
    page = index.read_text("utf-8")
    assert "Данных пока нет" in page and "intensive-tracker sync" in page
    assert (index.parent / "report.xlsx").stat().st_size > 0


def _help_verbs() -> set[str]:
    shown = CliRunner().invoke(cli, ["--help"]).output
    return set(re.findall(r"^  ([a-z-]+)\s", shown.split("Команды:")[1], flags=re.M))


def test_every_verb_of_the_help_is_covered() -> None:
    """A verb added to the program must be added here too (demo writes its own config: its own tests)."""
    covered = {args[0] for args in VERBS} | {"daemon", "serve", "demo"}
    assert _help_verbs() <= covered


@pytest.mark.parametrize("state", STATES)
def test_daemon_and_serve_stop_cleanly_in_every_state(tmp_path: Path, state: str) -> None:
    """The long-running verbs, as real processes: stopped by SIGTERM / Ctrl+C, no traceback, a documented code."""
    config = make_state(tmp_path / "lab", state)
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    runs = {
        # verb: (extra arguments, how it is stopped, the line that says it is up)
        "daemon": ([], signal.SIGTERM, "демон запущен"),
        "serve": (["--port", "0"], signal.SIGINT, "http://127.0.0.1:"),
    }
    for verb, (extra, stop, ready) in runs.items():
        proc = subprocess.Popen(
            [sys.executable, "-m", "intensive_tracker", "--config", str(config), verb, *extra],
            cwd=tmp_path / "lab",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            seen.append(line)
            if ready in line:
                break
        if proc.poll() is None:
            proc.send_signal(stop)
        try:
            rest, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:  # hung: fail without leaving it running beside the rest of the suite
                proc.kill()
                proc.communicate()
        shown = "".join(seen) + rest
        assert "Traceback" not in shown, f"{verb}: {shown}"
        assert proc.returncode in DOCUMENTED, f"{verb}: {proc.returncode} {shown}"
