"""Every recording is replayed through `responses` and read by the connector; `Replay` serves other tests too."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses

from connectors.demo.standin import unflatten
from connectors.moodle import errors as e
from connectors.moodle import functions as fn
from connectors.moodle import schemas as s
from connectors.moodle.client import ENDPOINT, MoodleClient
from intensive_tracker.i18n import set_language
from tests.conftest import RECORDINGS, recording


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """The messages are pinned here in English, word for word as before the catalog; Russian, the default,
    is pinned in tests/test_connectors_language.py."""
    set_language("en")
    yield


BASE_URL = "http://moodle.test"
TOKEN = "replay-token-0123456789abcdef"


def canonical(fields: Iterable[tuple[str, str]]) -> str:
    """wsfunction + params as one string; `options` compared by name, so their order does not matter."""
    # An empty wsfunction is how the client sends "none" (recording 075 has no such field at all).
    params = unflatten(
        [(k, v) for k, v in fields if k not in ("wstoken", "moodlewsrestformat") and not (k == "wsfunction" and not v)]
    )
    options = params.get("options")
    if isinstance(options, list) and all(isinstance(o, dict) and "name" in o for o in options):
        params["options"] = sorted(options, key=lambda o: o["name"])
    return json.dumps(params, sort_keys=True, ensure_ascii=False)


def _body_bytes(data: dict[str, Any]) -> bytes:
    body = data["body"]
    if data["body_kind"] == "json":
        return json.dumps(body, ensure_ascii=False).encode("utf-8")
    return str(body).encode("utf-8")


class Replay:
    """A `responses` callback answering each POST from the recording with the same wsfunction and params.

    A request no recording matches fails the test (AssertionError), naming it. A wrong token gets
    the recorded invalidtoken answer. `calls` counts requests per recording.
    """

    def __init__(self, rsps: responses.RequestsMock, *, token: str = TOKEN, base_url: str = BASE_URL) -> None:
        self.token = token
        self.routes: dict[str, dict[str, Any]] = {}
        self.calls: Counter[str] = Counter()
        self.bodies: list[str] = []
        self.emulate_since = False
        rsps.add_callback(responses.POST, base_url + ENDPOINT, callback=self._answer)

    def add(self, *names: str) -> Replay:
        for name in names:
            data = recording(name)
            key = canonical(
                [tuple(p) for p in data["request"]["encoded_params"]] + [("wsfunction", data["request"]["wsfunction"])]
            )
            self.routes[key] = data | {"name": name}
        return self

    def override(self, name: str, body: Any) -> Replay:
        """Serve `name`'s request with another JSON body (for answers no recording holds)."""
        self.add(name)
        for route in self.routes.values():
            if route["name"] == name:
                route["body"], route["body_kind"] = body, "json"
        return self

    def _answer(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        raw = request.body.decode("utf-8") if isinstance(request.body, bytes) else (request.body or "")
        self.bodies.append(raw)
        fields = parse_qsl(raw, keep_blank_values=True)
        form = dict(fields)
        assert "wstoken" not in request.url, "the token must travel in the POST body only"
        if form.get("wstoken") != self.token:
            return self._serve(recording("071_ERR_invalid_token") | {"name": "071_ERR_invalid_token"})
        key = canonical(fields)
        route = self.routes.get(key)
        if route is None and self.emulate_since and form.get("wsfunction") == "mod_assign_get_grades":
            route = self._since(fields)
        if route is None:
            raise AssertionError(f"no recording for {key}")
        return self._serve(route)

    def _serve(self, route: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        self.calls[route["name"]] += 1
        headers = {k: v for k, v in route["headers"].items() if k in ("content-type", "retry-after")}
        return route["status"], headers, _body_bytes(route)

    def _since(self, fields: list[tuple[str, str]]) -> dict[str, Any] | None:
        """Moodle's documented `since` (grades modified at or after it) applied to the full grades recording."""
        since = int(dict(fields).get("since", 0))
        base = [(k, v) for k, v in fields if k != "since"]
        full = self.routes.get(canonical(base))
        if full is None:
            return None
        body = json.loads(json.dumps(full["body"]))
        for block in body["assignments"]:
            block["grades"] = [g for g in block["grades"] if g["timemodified"] >= since]
        body["assignments"] = [b for b in body["assignments"] if b["grades"]]
        return full | {"body": body, "name": full["name"] + f"+since={since}"}


def client(**kwargs: Any) -> MoodleClient:
    """A client on the replay site with no retries and no waiting."""
    options: dict[str, Any] = {"retries": 0, "backoff": 0.0}
    options.update(kwargs)
    return MoodleClient(BASE_URL, options.pop("token", TOKEN), **options)


# --- every recording ----------------------------------------------------------------------------

READERS = s.RESPONSES

# Error recordings → (exception class, words of the message, exit code).
ERRORS: dict[str, tuple[type[Exception], str, int]] = {
    "021": (e.MissingCapability, "moodle/role:review", 77),
    "055": (e.MissingCapability, "moodle/role:review", 77),
    "064": (e.MoodleError, "nocriteriaset", 69),
    "071": (e.InvalidToken, "INTENSIVE_TRACKER_MOODLE_TOKEN", 77),
    "072": (e.InvalidToken, "Create a new token", 77),
    "073": (e.FunctionNotInService, "External services", 77),
    "074": (e.FunctionUnknown, "does not exist", 77),
    "075": (e.InvalidParameter, "refused the request's parameters", 65),
    "076": (e.MissingCapability, "moodle/course:view", 77),
    "077": (e.MissingCapability, "moodle/course:view", 77),
    "078": (e.MissingCapability, "mod/attendance:view", 77),
    "080": (e.MissingCapability, "moodle/course:view", 77),
    "081": (e.MissingCapability, "moodle/course:view", 77),
    "083": (e.InvalidParameter, "invalidparameter", 65),
    "084": (e.InvalidParameter, "invalidparameter", 65),
    "086": (e.InvalidParameter, "invaliduserfield", 65),
    "088": (e.InvalidParameter, "invalidparameter", 65),
    "089": (e.UnknownCourse, "course does not exist", 78),
    "090": (e.UnknownCourse, "course does not exist", 78),
    "091": (e.UnknownCourse, "course does not exist", 78),
    "092": (e.UnknownCourse, "course does not exist", 78),
    "095": (e.UnknownActivity, "activity does not exist", 78),
    "096": (e.UnknownActivity, "activity does not exist", 78),
    "098": (e.MoodleNotFound, "user does not exist", 78),
    "101": (e.BadAnswer, "XML", 65),
    "102": (e.InvalidToken, "rejected the token", 77),
    "103": (e.BadAnswer, "XML", 65),
    "104": (e.WebServicesDisabled, "Enable web services", 77),
    "105": (e.WebServicesDisabled, "Enable web services", 77),
    "106": (e.WebServicesDisabled, "Manage protocols", 77),
    "108": (e.AccessDenied, "Valid until", 77),
    "109": (e.AccessDenied, "IP restriction", 77),
}
# Successful answers that carry the problem in warnings[] (or an empty list), not in an exception.
WARNING_ANSWERS = {"079": "1", "094": "1", "097": "3"}


def _all() -> list[Path]:
    return sorted(RECORDINGS.glob("*.json"))


def _replay_one(path: Path) -> tuple[dict[str, Any], Any]:
    data = recording(path.name)
    fields = [(k, v) for k, v in data["request"]["encoded_params"]]
    wsfunction = data["request"]["wsfunction"] or ""
    with responses.RequestsMock() as rsps:
        replay = Replay(rsps).add(path.name)
        params = unflatten(fields)
        try:
            result: Any = client().call(wsfunction, **params) if wsfunction else client().call("", **params)
        except e.MoodleError as error:
            result = error
        assert sum(replay.calls.values()) == 1
    return data, result


def test_every_recording_is_classified_here() -> None:
    """A new recording must be given an expectation: none falls through unclassified."""
    for path in _all():
        number = path.name[:3]
        data = recording(path.name)
        fn_name = data["request"]["wsfunction"]
        exception = isinstance(data["body"], dict) and "exception" in data["body"]
        known = number in ERRORS or number in WARNING_ANSWERS or (not exception and data["body_kind"] == "json")
        assert known, f"{path.name} ({fn_name}) has no expectation in ERRORS"


@pytest.mark.parametrize("path", _all(), ids=lambda p: p.stem[:60])
def test_recording_replays_through_the_connector(path: Path) -> None:
    """Each recording, replayed, becomes its typed error (class, message, exit code) or a parsed answer."""
    number = path.name[:3]
    data, result = _replay_one(path)
    wsfunction = data["request"]["wsfunction"] or ""
    if number in ERRORS:
        cls, words, code = ERRORS[number]
        assert isinstance(result, cls), f"{path.name}: got {type(result).__name__}: {result}"
        assert words in str(result), str(result)
        assert result.exit_code == code
        assert TOKEN not in str(result) and "REDACTED" not in str(result)
        return
    assert not isinstance(result, Exception), f"{path.name}: {result}"
    assert result == data["body"]
    if wsfunction in READERS:
        parsed = fn.parse(READERS[wsfunction], result, wsfunction)
        if number in WARNING_ANSWERS:
            assert [str(w.warningcode) for w in parsed.warnings] == [WARNING_ANSWERS[number]]


def test_grades_since_emulation_matches_the_recorded_since_answer() -> None:
    """Filtering the full grades recording by `since` gives exactly recording 032, so the replay may emulate it."""
    recorded = recording("032_KU-2023-H1__mod_assign_get_grades__since")
    since = int(dict(recorded["request"]["encoded_params"])["since"])
    with responses.RequestsMock() as rsps:
        replay = Replay(rsps).add("031_KU-2023-H1__mod_assign_get_grades")
        replay.emulate_since = True
        answer = fn.grades(client(), 1, since)
    expected = fn.parse(s.Grades, recorded["body"], "mod_assign_get_grades")
    assert answer == expected and len(answer.assignments[0].grades) == 47
