"""The token never leaks; a sync that cannot start (token, function, host) leaves the database untouched."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from intensive_tracker import logs
from intensive_tracker.cli import cli
from intensive_tracker.store.engine import make_engine, table_snapshot
from intensive_tracker.store.models import DATA_TABLES, SyncRun
from tests.conftest import recording
from tests.test_moodle_replay import Replay
from tests.test_moodle_sync import SYNC_RECORDINGS, TOKEN_ENV, write_config

CANARY = "CANARY-7f3a9c1e5b2d4f60a8e1"
SHN_ONLY = [n for n in SYNC_RECORDINGS if "KU-2023-H1" not in n]


def shn_config(tmp_path: Path, db_url: str, url: str | None = None) -> Path:
    """The recorded SHN-2023-24 course alone: a small, fast sync."""
    config = write_config(tmp_path, db_url)
    text = config.read_text("utf-8")
    text = (
        text[: text.index('[[cohorts]]\nkey = "KU-2023-H1"')] + text[text.index('[[cohorts]]\nkey = "SHN-2023-24"') :]
    )
    if url:
        text = text.replace("http://moodle.test", url)
    config.write_text(text, "utf-8")
    return config


@pytest.fixture
def debug_everywhere(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG, urllib3 included, captured without the redacting filter."""
    original = logs.setup_logging

    def verbose(**kwargs: object) -> None:
        original(verbose=True, job="cli")
        for name in ("urllib3", "requests", "connectors", "intensive_tracker"):
            logging.getLogger(name).setLevel(logging.DEBUG)

    monkeypatch.setattr(logs, "setup_logging", verbose)
    caplog.set_level(logging.DEBUG)
    return caplog


def _files_hold(folder: Path, secret: str) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_canary_token_appears_nowhere(
    monkeypatch: pytest.MonkeyPatch, debug_everywhere: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """A rejected and then an accepted canary token: absent from logs, stdout, stderr and the SQLite files."""
    monkeypatch.setenv(TOKEN_ENV, CANARY)
    config = shn_config(tmp_path, f"sqlite:///{tmp_path / 'tracker.db'}")
    outputs = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        replay = Replay(rsps, token="another-token").add(*SHN_ONLY)
        rejected = CliRunner().invoke(cli, ["-v", "--config", str(config), "sync"])
        assert rejected.exit_code == 77, rejected.output
        outputs += [rejected.output, rejected.stderr]
        replay.token = CANARY
        accepted = CliRunner().invoke(cli, ["-v", "--config", str(config), "sync"])
        assert accepted.exit_code == 0, accepted.output
        outputs += [accepted.output, accepted.stderr]
        checked = CliRunner().invoke(cli, ["-v", "--config", str(config), "check", "--json"])
        outputs += [checked.output]
    assert all(CANARY in body for body in replay.bodies)  # it was really sent, in the body
    assert any(r.levelno == logging.DEBUG for r in debug_everywhere.records)
    for record in debug_everywhere.records:
        assert CANARY not in record.getMessage()
    assert not [o for o in outputs if CANARY in o]
    assert (tmp_path / "tracker.db").exists() and _files_hold(tmp_path, CANARY) == []


def _snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    return table_snapshot(engine, [*DATA_TABLES, SyncRun])


@pytest.mark.parametrize("case", ["wrong token", "missing function", "unreachable"])
def test_failed_start_leaves_the_database_untouched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, case: str
) -> None:
    """Wrong token (77), a function missing from the service (77), no host (69): clear message, no row changes."""
    monkeypatch.setenv(TOKEN_ENV, "right-token")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = shn_config(tmp_path, db_url)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        replay = Replay(rsps, token="right-token").add(*SHN_ONLY)
        first = CliRunner().invoke(cli, ["--config", str(config), "sync"])
        assert first.exit_code == 0, first.output
        engine = make_engine(db_url)
        before = _snapshot(engine)
        if case == "wrong token":
            monkeypatch.setenv(TOKEN_ENV, "wrong-token")
        elif case == "missing function":
            site = recording("001_core_webservice_get_site_info")["body"]
            site["functions"] = [f for f in site["functions"] if not f["name"].startswith("core_enrol_")]
            replay.override("001_core_webservice_get_site_info", site)
        calls_before = sum(replay.calls.values())
        if case == "unreachable":
            rsps.add_passthru(closed)
            config = shn_config(tmp_path, db_url, url=closed)
        result = CliRunner().invoke(cli, ["--config", str(config), "sync"])
    expected = {
        "wrong token": (77, "отклонил токен"),
        "missing function": (77, "core_enrol_get_enrolled_users"),
        "unreachable": (69, "connection refused"),
    }[case]
    assert result.exit_code == expected[0], result.output
    assert expected[1] in result.stderr
    assert _snapshot(engine) == before
    if case != "unreachable":
        assert sum(replay.calls.values()) == calls_before + 1  # site info only: nothing else was read
    engine.dispose()


def test_failed_start_creates_no_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With a rejected token on a first run, not even the SQLite file is created."""
    monkeypatch.setenv(TOKEN_ENV, "wrong-token")
    config = shn_config(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        Replay(rsps, token="right-token").add(*SHN_ONLY)
        result = CliRunner().invoke(cli, ["--config", str(config), "sync"])
    assert result.exit_code == 77
    assert not (tmp_path / "fresh.db").exists()
