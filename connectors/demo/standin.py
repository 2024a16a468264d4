"""A stand-in Moodle on 127.0.0.1: the REST wire format of the recordings, served from a World.

It answers exactly as Moodle 4.5 with mod_attendance does (shared/moodle-recordings): POST form
fields with PHP-style keys, JSON bodies, errors as HTTP 200 exception bodies. A cost model
(MOODLE-COSTS.md) can make each call take as long as it would on the lab's server, with at most
`concurrency` requests served at once.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl

from connectors.demo.answer_base import MoodleFault
from connectors.demo.answers import MoodleAnswers
from connectors.demo.world import World

ENDPOINT = "/webservice/rest/server.php"


@dataclass(frozen=True)
class CostModel:
    """Server time per call; defaults are the lab Moodle's (MOODLE-COSTS.md)."""

    per_call_ms: float = 40.0
    per_user_ms: float = 5.0
    per_mark_ms: float = 0.05
    concurrency: int = 2

    def as_dict(self) -> dict[str, float]:
        return {
            "per_call_ms": self.per_call_ms,
            "per_user_ms": self.per_user_ms,
            "per_mark_ms": self.per_mark_ms,
            "concurrency": self.concurrency,
        }


def unflatten(fields: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP-style keys back to nested values: options[0][name]=x → {"options": [{"name": "x"}]}."""
    root: dict[str, Any] = {}
    for name, value in fields:
        parts = name.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    # Top-level keys are names (wsfunction, options…), never all digits, so this stays a mapping.
    return cast(dict[str, Any], _listify(root))


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _listify(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return node


class StandinMoodle(MoodleAnswers):
    """Serve `world` until stopped; use as a context manager."""

    def __init__(
        self,
        world: World,
        *,
        token: str | None = None,
        cost: CostModel | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.world = world
        self.token = token or secrets.token_hex(16)
        self.cost = cost
        self._slots = threading.BoundedSemaphore(cost.concurrency if cost else 64)
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.fault: Callable[[str, dict[str, Any]], tuple[int, bytes] | None] | None = None
        handler = self._handler_class()
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):  # only for AF_UNIX-style addresses; ours is always an IP string
            host = host.decode()
        return f"http://{host}:{port}"

    @property
    def requests_served(self) -> int:
        return sum(self.calls.values())

    def start(self) -> StandinMoodle:
        self._thread = threading.Thread(target=self._server.serve_forever, name="standin-moodle", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StandinMoodle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP -----------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                status, payload = standin.handle(self.path, parse_qsl(body, keep_blank_values=True))
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if payload else "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

        return Handler

    def handle(self, path: str, fields: list[tuple[str, str]]) -> tuple[int, bytes]:
        """One request → (HTTP status, body bytes)."""
        if path.split("?")[0] != ENDPOINT:
            return 404, b""
        params = unflatten(fields)
        wsfunction = str(params.pop("wsfunction", ""))
        token = params.pop("wstoken", None)
        params.pop("moodlewsrestformat", None)
        with self._lock:
            self.calls[wsfunction] = self.calls.get(wsfunction, 0) + 1
        if self.fault is not None:
            injected = self.fault(wsfunction, params)
            if injected is not None:
                return injected
        with self._slots:
            started = time.perf_counter()
            try:
                if token != self.token:
                    raise MoodleFault(
                        "core\\exception\\moodle_exception", "invalidtoken", "Invalid token - token not found"
                    )
                handler = getattr(self, "_fn_" + wsfunction, None)
                if handler is None:
                    raise MoodleFault(
                        "dml_missing_record_exception",
                        "invalidrecord",
                        "Can't find data record in database table external_functions.",
                    )
                result, units = handler(params)
            except MoodleFault as fault:
                result, units = fault.body, {}
            except (KeyError, ValueError, TypeError):
                result, units = (
                    {
                        "exception": "core\\exception\\invalid_parameter_exception",
                        "errorcode": "invalidparameter",
                        "message": "Invalid parameter value detected",
                    },
                    {},
                )
            self._spend(started, units)
        return 200, json.dumps(result, ensure_ascii=False).encode("utf-8")

    def _spend(self, started: float, units: dict[str, int]) -> None:
        if self.cost is None:
            return
        seconds = (
            self.cost.per_call_ms
            + self.cost.per_user_ms * units.get("users", 0)
            + self.cost.per_mark_ms * units.get("marks", 0)
        ) / 1000
        remaining = seconds - (time.perf_counter() - started)
        if remaining > 0:
            time.sleep(remaining)
