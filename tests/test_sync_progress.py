"""Progress: a bar over cohorts on a terminal's stderr; nothing of it in pipes, journals or with --quiet."""

from __future__ import annotations

import fcntl
import io
import logging
import os
import pty
import struct
import subprocess
import termios
from pathlib import Path

from intensive_tracker.ops.progress import CohortProgress, wants_progress
from tests.synckit import ROOT, cli_args, cli_env, demo_world, run_cli, standin, write_config


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_only_for_a_terminal_and_never_with_quiet() -> None:
    """A pipe or --quiet gets no bar; a terminal does."""
    assert wants_progress(quiet=False, stream=_Terminal()) is True
    assert wants_progress(quiet=True, stream=_Terminal()) is False
    assert wants_progress(quiet=False, stream=io.StringIO()) is False


def test_bar_counts_cohorts_and_a_disabled_bar_writes_nothing() -> None:
    """Enabled, the bar reaches n/n with the last cohort's name; disabled, the stream stays empty."""
    screen = _Terminal()
    with CohortProgress(3, enabled=True, stream=screen) as bar:
        for key in ("KU-2021-H2", "KU-2021-H1"):
            bar.advance(key)
        bar.advance("SHN-2022-23", failed=True)
        assert "3/3" in screen.getvalue() and "SHN-2022-23 — ошибка" in screen.getvalue()
    quiet = _Terminal()
    with CohortProgress(3, enabled=False, stream=quiet) as bar:
        bar.advance("KU-2021-H2")
    assert quiet.getvalue() == ""


def _rendered(screen: str) -> list[str]:
    """What a terminal shows after `screen`: each \\r returns to the line's start and overwrites it."""
    lines = []
    for raw in screen.split("\n"):
        shown = ""
        for part in raw.split("\r"):
            shown = part + shown[len(part) :]
        lines.append(shown.rstrip())
    return [line for line in lines if line]


def test_log_lines_go_above_the_bar_and_a_finished_bar_leaves_one_clean_line() -> None:
    """A log line written mid-run gets its own line above the bar; at the end one «3/3 … готово» line stays."""
    screen = _Terminal()
    handler = logging.StreamHandler(screen)
    logging.getLogger().addHandler(handler)
    try:
        with CohortProgress(3, enabled=True, stream=screen) as bar:
            bar.advance("KU-2021-H2")
            logging.getLogger("intensive_tracker").warning("строка журнала")
            bar.advance("KU-2021-H1")
            bar.advance("SHN-2022-23")
    finally:
        logging.getLogger().removeHandler(handler)
    assert handler.stream is screen  # the handler writes straight to the stream again
    shown = _rendered(screen.getvalue())
    assert shown[0] == "строка журнала"
    assert len(shown) == 2 and "3/3" in shown[1] and shown[1].endswith("готово")


def test_a_bar_that_did_not_finish_leaves_nothing_on_screen() -> None:
    """A run that stops at 0 % or midway (an error) removes its bar instead of leaving it stuck."""
    for steps in (0, 1):
        screen = _Terminal()
        with CohortProgress(3, enabled=True, stream=screen) as bar:
            for _ in range(steps):
                bar.advance("KU-2021-H2")
        assert _rendered(screen.getvalue()) == []


def test_sync_on_a_terminal_draws_the_bar_and_in_a_pipe_logs_lines(tmp_path: Path) -> None:
    """The real command: a pseudo-terminal shows the bar; a pipe gets log lines and no bar; -q is silent."""
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=f"sqlite:///{tmp_path}/t.db", moodle_url=moodle.url)
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a fresh pty is 0×0
        proc = subprocess.Popen(
            cli_args(config, "sync"),
            env=cli_env(),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=slave,
        )
        os.close(slave)
        screen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        os.close(master)
        assert proc.wait(timeout=60) == 0
        shown = screen.decode("utf-8", errors="replace")
        assert "Синхронизация" in shown and "3/3" in shown
        assert "записан" not in shown  # the bar replaces the per-cohort log lines
        assert shown.count("пользователь службы") == 1  # the Moodle preflight line is said once

        piped = run_cli(config, "sync")  # a pipe, as under systemd or cron
        assert piped.returncode == 0, piped.stderr
        assert "KU-2021-H1 записан" in piped.stderr and "когорт/s" not in piped.stderr and "\r" not in piped.stderr
        assert "+0300 INFO" in piped.stderr  # the lab's zone (the config's timezone), not the server's UTC
        assert piped.stderr.count("пользователь службы") == 1
        quiet = run_cli(config, "-q", "sync")
        assert quiet.returncode == 0 and quiet.stderr == ""
