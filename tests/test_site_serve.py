"""`serve`: the report folder over HTTP on 127.0.0.1 only, and a clear error without a report."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from intensive_tracker.cli import cli
from intensive_tracker.ops.serve import make_server


def test_server_binds_loopback_and_serves_the_folder(tmp_path: Path) -> None:
    """Pages are served from 127.0.0.1 with a UTF-8 content type; the server stops cleanly."""
    (tmp_path / "index.html").write_text("<p>Итоги</p>", "utf-8")
    server = make_server(tmp_path, port=0)
    assert server.server_address[0] == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/index.html", timeout=5) as resp:
            assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
            assert resp.read().decode("utf-8") == "<p>Итоги</p>"
    finally:
        server.shutdown()
        server.server_close()


def test_serve_without_a_report_exits_78_and_says_what_to_do(tmp_path: Path) -> None:
    """`serve --dir` on a folder without index.html exits 78 and names the folder and the fix."""
    result = CliRunner().invoke(cli, ["serve", "--dir", str(tmp_path), "--port", "0"])
    assert result.exit_code == 78
    assert str(tmp_path) in result.output and "intensive-tracker report" in result.output


def test_serve_on_a_taken_port_exits_78_and_names_the_option(tmp_path: Path) -> None:
    """A port already in use stops `serve` with exit 78 and points to --port."""
    (tmp_path / "index.html").write_text("<p>x</p>", "utf-8")
    taken = make_server(tmp_path, port=0)
    try:
        port = taken.server_address[1]
        result = CliRunner().invoke(cli, ["serve", "--dir", str(tmp_path), "--port", str(port)])
        assert result.exit_code == 78 and "--port" in result.output
    finally:
        taken.server_close()
