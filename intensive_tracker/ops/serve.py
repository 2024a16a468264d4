"""`serve`: the report folder over HTTP on 127.0.0.1, for viewing it in a browser locally."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import _

HOST = "127.0.0.1"  # never another interface: district pages carry personal data


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".csv": "text/csv; charset=utf-8",
        ".json": "application/json; charset=utf-8",
        ".html": "text/html; charset=utf-8",
    }

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass  # request lines would only clutter the terminal the methodist started it in


def make_server(directory: Path, *, port: int = 8000) -> ThreadingHTTPServer:
    """A server for `directory` on 127.0.0.1:`port` (0 = any free port); the caller runs and closes it."""
    if not (directory / "index.html").is_file():
        raise ConfigError(
            _(
                "{folder}: здесь нет index.html; сначала выполните `intensive-tracker report` или укажите --dir",
                folder=directory,
            )
        )
    handler = functools.partial(_QuietHandler, directory=str(directory))
    return ThreadingHTTPServer((HOST, port), handler)
