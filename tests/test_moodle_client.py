"""The transport: POST with the token in the body, typed errors from status and body, bounded retries and concurrency."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from connectors.moodle import errors as e
from connectors.moodle.client import ENDPOINT, MoodleClient, _retry_after, flatten
from intensive_tracker.i18n import set_language
from tests.conftest import recording
from tests.test_moodle_replay import BASE_URL, TOKEN, client


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """The messages are pinned here in English, word for word as before the catalog; Russian, the default,
    is pinned in tests/test_connectors_language.py."""
    set_language("en")
    yield


URL = BASE_URL + ENDPOINT
SITE = recording("001_core_webservice_get_site_info")["body"]


def test_flatten_uses_php_style_keys() -> None:
    """Lists and dicts become courseids[0] and options[0][name], as Moodle's REST server reads them."""
    assert flatten({"courseids": [2], "options": [{"name": "limitfrom", "value": 0}], "flag": True, "none": None}) == [
        ("courseids[0]", "2"),
        ("options[0][name]", "limitfrom"),
        ("options[0][value]", "0"),
        ("flag", "1"),
    ]


@responses.activate
def test_token_travels_in_the_post_body_only() -> None:
    """The request is a form POST to the endpoint; the token is a body field, never in the URL."""
    responses.add(responses.POST, URL, json=SITE)
    client().call("core_webservice_get_site_info")
    sent = responses.calls[0].request
    assert sent.method == "POST" and sent.url == URL and TOKEN not in sent.url
    assert f"wstoken={TOKEN}" in sent.body and "moodlewsrestformat=json" in sent.body


@responses.activate
def test_5xx_is_retried_with_retry_after_then_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP 503 with Retry-After: 2 waits 2 s (as told), then the next answer is used."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    responses.add(responses.POST, URL, status=503, body="", headers={"Retry-After": "2"})
    responses.add(responses.POST, URL, json=SITE)
    assert client(retries=3, backoff=1.0).call("core_webservice_get_site_info")["username"] == "ws_tracker"
    assert waits == [2.0] and len(responses.calls) == 2


@responses.activate
def test_backoff_grows_exponentially_with_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three 502s: waits of about 1, 2 and 4 s (each within ±50 %), then a ServerError with exit 69."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    for _ in range(4):
        responses.add(responses.POST, URL, status=502, body="Bad Gateway")
    with pytest.raises(e.ServerError) as raised:
        client(retries=3, backoff=1.0).call("core_webservice_get_site_info")
    assert raised.value.exit_code == 69 and "HTTP 502" in str(raised.value)
    assert len(waits) == 3 and all(0.5 * 2**i <= w <= 1.5 * 2**i for i, w in enumerate(waits))


@responses.activate
def test_moodle_exceptions_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception body (HTTP 200) is Moodle's answer: one request, no retry."""
    monkeypatch.setattr(time, "sleep", lambda s: pytest.fail("must not wait"))
    responses.add(responses.POST, URL, json=recording("071_ERR_invalid_token")["body"])
    with pytest.raises(e.InvalidToken):
        client(retries=3).call("core_webservice_get_site_info")
    assert len(responses.calls) == 1


@responses.activate
def test_timeouts_are_retried_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read timeout is retried, then named with the configured seconds; exit 69."""
    monkeypatch.setattr(time, "sleep", lambda s: None)
    responses.add(responses.POST, URL, body=requests.ReadTimeout("slow"))
    responses.add(responses.POST, URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(e.Timeout) as raised:
        client(retries=1, connect_timeout=3, read_timeout=45).call("core_webservice_get_site_info")
    assert "3/45 s" in str(raised.value) and raised.value.exit_code == 69 and len(responses.calls) == 2


def test_connection_refused_is_unreachable() -> None:
    """Nothing listens on the port: Unreachable, exit 69, the message names the URL setting."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(e.Unreachable) as raised:
        MoodleClient(f"http://127.0.0.1:{port}", TOKEN, retries=0).call("core_webservice_get_site_info")
    assert "connection refused" in str(raised.value) and "moodle.url" in str(raised.value)
    assert raised.value.exit_code == 69


@pytest.mark.parametrize(
    "status,body,cls,words",
    [
        (200, "<!DOCTYPE html><html><body>Site is undergoing maintenance</body></html>", e.Maintenance, "maintenance"),
        (503, "<html><title>Maintenance</title></html>", e.Maintenance, "maintenance mode"),
        (200, "<html><body>Log in to the site</body></html>", e.NotServing, "HTML page"),
        (200, '{"sitename": "x", "userna', e.Truncated, "truncated"),
        (200, "", e.NotServing, "empty answer"),
        (200, "PHP Fatal error", e.BadAnswer, "non-JSON"),
        (404, "", e.NotServing, "HTTP 404"),
    ],
)
def test_broken_answers_are_typed(status: int, body: str, cls: type[Exception], words: str) -> None:
    """Maintenance, HTML, truncated, empty and non-JSON bodies each give their class and a message saying what to do."""
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, status=status, body=body)
        with pytest.raises(cls) as raised:
            client().call("core_webservice_get_site_info")
    assert words in str(raised.value)


@pytest.mark.parametrize(
    "body,cls,words",
    [
        ('[{"id": 7, "sessdate": 16952', e.Truncated, "truncated"),
        ('[{"id": "seven"}]', e.BadAnswer, "0.id"),
        ("[] trailing", e.Truncated, "truncated"),
    ],
)
def test_an_array_answer_validated_from_its_bytes_fails_as_a_decoded_one(
    body: str, cls: type[Exception], words: str
) -> None:
    """Issue 17: arrays are parsed and validated in one pass; a cut or misshapen one still gives its class."""
    from connectors.moodle import functions as fn

    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, status=200, body=body)
        with pytest.raises(cls) as raised:
            fn.attendance_sessions(client(retries=0), 5)
    assert words in str(raised.value)


@responses.activate
def test_sitemaintenance_errorcode_is_maintenance() -> None:
    """Moodle's own maintenance exception body maps to Maintenance (69)."""
    responses.add(
        responses.POST,
        URL,
        json={
            "exception": "moodle_exception",
            "errorcode": "sitemaintenance",
            "message": "The site is undergoing maintenance",
        },
    )
    with pytest.raises(e.Maintenance) as raised:
        client().call("core_enrol_get_enrolled_users", courseid=2)
    assert raised.value.exit_code == 69


def test_retry_after_accepts_an_http_date_and_is_capped() -> None:
    """Retry-After as an HTTP date counts the seconds until then; huge values are capped at 120 s."""
    soon = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (_retry_after(soon) or 0) <= 31
    assert _retry_after("86400") == 120.0 and _retry_after("soon") is None


def test_requests_in_flight_are_bounded() -> None:
    """Eight threads calling at once never have more than max_in_flight requests on the wire."""
    active, peak, lock = 0, 0, threading.Lock()

    def slow(request: Any) -> tuple[int, dict[str, str], str]:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return 200, {}, json.dumps(SITE)

    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.POST, URL, callback=slow)
        moodle = client(max_in_flight=2)
        threads = [threading.Thread(target=moodle.call, args=("core_webservice_get_site_info",)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert peak == 2 and moodle.in_flight_peak == 2 and moodle.requests_made == 8


def test_repr_and_errors_never_show_the_token() -> None:
    """repr(client) shows the site only."""
    assert TOKEN not in repr(client()) and BASE_URL in repr(client())


class _Trickle:
    """A clock that moves one second each time it is read: every chunk of the answer «arrives» a second later."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _forty_chunks() -> bytes:
    """The site-info answer padded (a long release string) to forty chunks of the client's read size."""
    from connectors.moodle.client import BODY_CHUNK

    padded = {**SITE, "release": "x" * (40 * BODY_CHUNK)}
    return json.dumps(padded).encode()


@responses.activate
def test_an_answer_trickled_past_the_call_deadline_is_a_timeout_retried_then_reported() -> None:
    """read_timeout = 3 never trips on a chunk a second; call_deadline = 10 ends the call, retried, then exit 69."""
    responses.add(responses.POST, URL, body=_forty_chunks())
    responses.add(responses.POST, URL, body=_forty_chunks())
    clock = _Trickle()
    slow = client(retries=1, read_timeout=3, call_deadline=10, clock=clock)
    with pytest.raises(e.Timeout) as raised:
        slow.call("core_webservice_get_site_info")
    assert "after the deadline of 10 s (moodle.call_deadline)" in str(raised.value)
    assert raised.value.exit_code == 69 and len(responses.calls) == 2
    assert clock.now < 30  # each attempt stopped at its deadline, not at the end of the answer


@responses.activate
def test_a_trickled_answer_then_a_prompt_one_succeeds_on_the_retry() -> None:
    """The deadline counts per call: the retry that answers in time returns the data."""
    responses.add(responses.POST, URL, body=_forty_chunks())
    responses.add(responses.POST, URL, json=SITE)
    assert client(retries=1, call_deadline=10, clock=_Trickle()).call("core_webservice_get_site_info") == SITE


@responses.activate
def test_a_long_answer_within_the_deadline_is_read_whole() -> None:
    """Forty chunks in forty «seconds» under a 120 s deadline: the whole answer, decoded."""
    responses.add(responses.POST, URL, body=_forty_chunks())
    answer = client(call_deadline=120, clock=_Trickle()).call("core_webservice_get_site_info")
    assert len(answer["release"]) == 40 * 16 * 1024
