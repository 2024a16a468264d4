"""Moodle REST transport: one `call`, POST only, the token in the body, errors read from the body.

Moodle answers errors with HTTP 200 and `{"exception", "errorcode", "message"}`; web services
switched off give 403 with an empty body (shared/moodle-recordings/README.md). One
`requests.Session` carries every call; at most `max_in_flight` requests are on the wire at once;
5xx, timeouts and broken connections are retried with exponential backoff and jitter, honouring
Retry-After. The token is registered with `redact`, so no log line or CLI error can show it.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import requests
from pydantic import TypeAdapter, ValidationError
from requests.adapters import HTTPAdapter

from connectors.moodle import errors as e
from connectors.moodle.answers import AnswerDigest
from connectors.moodle.classify import classify
from connectors.moodle.slots import FairSlots
from intensive_tracker.i18n import _
from intensive_tracker.redact import redact, redact_bytes, register_secret

T = TypeVar("T")
log = logging.getLogger(__name__)

ENDPOINT = "/webservice/rest/server.php"
SITE_INFO = "core_webservice_get_site_info"
BODY_CHUNK = 16 * 1024  # bytes read at a time; the deadline is checked between them
MAX_RETRY_AFTER = 120.0  # a longer Retry-After is honoured only up to this, so a night run cannot stall for hours
_XML_EXCEPTION = re.compile(rb"<ERRORCODE>(.*?)</ERRORCODE>.*?<MESSAGE>(.*?)</MESSAGE>", re.DOTALL)


def flatten(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """PHP-style form fields: {"courseids": [2]} → [("courseids[0]", "2")]."""
    fields: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            fields.extend(flatten(value, name))
        elif isinstance(value, (list, tuple)):
            fields.extend(flatten({str(i): v for i, v in enumerate(value)}, name))
        elif isinstance(value, bool):
            fields.append((name, "1" if value else "0"))
        elif value is not None:
            fields.append((name, str(value)))
    return fields


class MoodleClient:
    """A Moodle web-service client for one site and token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_in_flight: int = 2,
        call_deadline: float = 120.0,
        token_hint: str = "INTENSIVE_TRACKER_MOODLE_TOKEN",
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.endpoint = self.base_url + ENDPOINT
        register_secret(token)
        self._token = token
        self._timeout = (connect_timeout, read_timeout)
        # read_timeout bounds each wait for the next bytes; an answer trickled a chunk a second would
        # never trip it (issue 12: 40 s waited out with read_timeout = 3). The deadline bounds the call.
        self._deadline = call_deadline
        self._clock = clock
        self._retries = retries
        self._backoff = backoff
        self._slots = FairSlots(max_in_flight)  # first come, first served: no cohort starves (issue 9)
        self._session = session or requests.Session()
        # Our own retry loop decides what is retried; urllib3 must not retry behind its back.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max_in_flight, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["User-Agent"] = "intensive-tracker"
        self.token_hint = token_hint
        self.requests_made = 0
        self.in_flight_peak = 0
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self._local = threading.local()  # the digest of the cohort this thread reads, if any

    def __repr__(self) -> str:  # never show the token
        return f"MoodleClient({self.base_url!r})"

    def call(self, wsfunction: str, **params: Any) -> Any:
        """POST `wsfunction` and return its decoded JSON; raise a typed MoodleError on failure."""
        return self._call(wsfunction, None, params)

    def call_as(self, wsfunction: str, adapter: TypeAdapter[T], /, **params: Any) -> T:
        """`call`, the answer validated by `adapter` (a pydantic ValidationError if it does not fit; see `validated`)."""
        result: T = self._call(wsfunction, adapter, params)
        return result

    def call_raw(self, wsfunction: str, /, **params: Any) -> bytes:
        """`call`, the answer kept as its (redacted) bytes: checked for Moodle's errors, not yet decoded.

        Decode it later with `validated`. Issue 17: the attendance marks are decoded only when the cohort's
        answers differ from those of the batch last written."""
        content: bytes = self._call(wsfunction, None, params, raw=True)
        return content

    @contextmanager
    def digesting(self, digest: AnswerDigest) -> Iterator[AnswerDigest]:
        """Within the block, every answer this thread receives goes into `digest`, with its request."""
        self._local.digest = digest
        try:
            yield digest
        finally:
            self._local.digest = None

    def _call(
        self, wsfunction: str, adapter: TypeAdapter[Any] | None, params: dict[str, Any], *, raw: bool = False
    ) -> Any:
        form = [("wstoken", self._token), ("wsfunction", wsfunction), ("moodlewsrestformat", "json")]
        form.extend(flatten(params))
        attempt = 0
        while True:
            try:
                return self._once(wsfunction, form, adapter, raw=raw)
            except e.MoodleUnavailable as error:
                if attempt >= self._retries or not e.is_retryable(error):
                    raise
                attempt += 1
                delay = self._delay(attempt, getattr(error, "retry_after", None))
                log.warning(
                    _(
                        "{function}: {error}; повтор {attempt} из {retries} через {delay} с",
                        function=wsfunction,
                        error=error,
                        attempt=attempt,
                        retries=self._retries,
                        delay=format(delay, ".1f"),
                    )
                )
                time.sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        # Exponential backoff with jitter, so parallel workers do not retry in lockstep.
        delay: float = self._backoff * 2 ** (attempt - 1) * (0.5 + random.random())
        return delay

    def _once(
        self,
        wsfunction: str,
        form: list[tuple[str, str]],
        adapter: TypeAdapter[Any] | None = None,
        *,
        raw: bool = False,
    ) -> Any:
        with self._slots:
            with self._count_lock:
                self.requests_made += 1
                self._in_flight += 1
                self.in_flight_peak = max(self.in_flight_peak, self._in_flight)
            try:
                started = self._clock()
                response = self._session.post(self.endpoint, data=form, timeout=self._timeout, stream=True)
                content = self._body(response, wsfunction, started)
                log.debug(
                    "%s: HTTP %s, %d bytes, %.0f ms",
                    wsfunction,
                    response.status_code,
                    len(content),
                    (self._clock() - started) * 1000,
                )
            except requests.Timeout:
                raise e.Timeout(
                    _(
                        "{url} не ответил на {function} вовремя (тайм-ауты соединения/чтения {connect}/{read} с; "
                        "если сайт медленный, увеличьте moodle.read_timeout)",
                        url=self.base_url,
                        function=wsfunction,
                        connect=format(self._timeout[0], "g"),
                        read=format(self._timeout[1], "g"),
                    ),
                    wsfunction=wsfunction,
                ) from None
            except requests.ConnectionError as error:
                raise e.Unreachable(
                    _(
                        "не удаётся подключиться к {url}: {reason}; проверьте moodle.url в конфигурации "
                        "и что Moodle работает",
                        url=self.base_url,
                        reason=_reason(error),
                    ),
                    wsfunction=wsfunction,
                ) from None
            except requests.RequestException as error:
                raise e.Unreachable(
                    redact(
                        _(
                            "{url}: {error} во время {function}",
                            url=self.base_url,
                            error=type(error).__name__,
                            function=wsfunction,
                        )
                    ),
                    wsfunction=wsfunction,
                ) from None
            finally:
                with self._count_lock:
                    self._in_flight -= 1
        result = self.decode(wsfunction, response.status_code, response.headers, content, adapter, raw=raw)
        digest: AnswerDigest | None = getattr(self._local, "digest", None)
        if digest is not None:  # only an answer that was not an error: a failed call fails the cohort anyway
            digest.add(wsfunction, [f for f in form if f[0] != "wstoken"], content)
        return result

    def _body(self, response: requests.Response, wsfunction: str, started: float) -> bytes:
        """The answer read chunk by chunk; past `call_deadline` seconds since the request it is a Timeout (retried)."""
        chunks: list[bytes] = []
        try:
            for chunk in response.iter_content(chunk_size=BODY_CHUNK):
                if self._clock() - started > self._deadline:
                    raise e.Timeout(
                        _(
                            "{url} всё ещё присылал ответ на {function} после срока в {deadline} с "
                            "(moodle.call_deadline); сайт или сеть очень медленные",
                            url=self.base_url,
                            function=wsfunction,
                            deadline=format(self._deadline, "g"),
                        ),
                        wsfunction=wsfunction,
                    )
                chunks.append(chunk)
        finally:
            response.close()
        return b"".join(chunks)

    def decode(
        self,
        wsfunction: str,
        status: int,
        headers: Mapping[str, str],
        content: bytes,
        adapter: TypeAdapter[Any] | None = None,
        *,
        raw: bool = False,
    ) -> Any:
        """An HTTP answer → the decoded body, or the typed error it means (status and body, never status alone).

        `raw`: the redacted bytes instead, once they are known not to be an error (an array never is one).

        The answer is redacted of every registered secret first: a Moodle with debugging on, or a proxy,
        may echo the request (`… (request: wstoken=<token>&…)`) in a message, `debuginfo`, a warning
        or an HTML page, and nothing made from the answer may carry it on to a sink (issue 12).
        """
        content = redact_bytes(content)
        head = content[:512].lstrip()
        if status == 403 and not head:
            raise e.WebServicesDisabled(
                _(
                    "{url} отказал в веб-службах (HTTP 403, пустой ответ): веб-службы или протокол REST выключены. "
                    "В Moodle: Администрирование → Расширенные возможности → Включить веб-службы и "
                    "Администрирование → Сервер → Веб-службы → Управление протоколами → REST",
                    url=self.base_url,
                ),
                wsfunction=wsfunction,
                errorcode="http403",
            )
        if status >= 500 or status in (408, 429):
            if _looks_like_maintenance(content):
                raise _maintenance(self.base_url, wsfunction)
            raise e.ServerError(
                _(
                    "{url} ответил HTTP {status} на {function}; смотрите журналы ошибок веб-сервера и Moodle",
                    url=self.base_url,
                    status=status,
                    function=wsfunction,
                ),
                wsfunction=wsfunction,
                errorcode=f"http{status}",
                retry_after=_retry_after(headers.get("Retry-After")),
            )
        if status != 200:
            raise e.NotServing(
                _(
                    "{url} ответил HTTP {status} на {function}: moodle.url — это базовый адрес сайта "
                    "(без /webservice/…)?",
                    url=self.base_url,
                    status=status,
                    function=wsfunction,
                ),
                wsfunction=wsfunction,
                errorcode=f"http{status}",
            )
        if head.startswith(b"<?xml") or head.startswith(b"<RESPONSE") or head.startswith(b"<EXCEPTION"):
            exception = _XML_EXCEPTION.search(content)
            if exception:
                body = {
                    "errorcode": exception.group(1).decode("utf-8", "replace"),
                    "message": exception.group(2).decode("utf-8", "replace"),
                }
                raise classify(body, wsfunction=wsfunction, base_url=self.base_url, token_hint=self.token_hint)
            raise e.BadAnswer(
                _(
                    "{url} ответил на {function} в XML, а не в JSON: что-то между нами и Moodle теряет "
                    "поле moodlewsrestformat=json в теле POST",
                    url=self.base_url,
                    function=wsfunction,
                ),
                wsfunction=wsfunction,
            )
        if head.startswith(b"<"):
            if _looks_like_maintenance(content):
                raise _maintenance(self.base_url, wsfunction)
            raise e.NotServing(
                _(
                    "{url} прислал HTML-страницу вместо JSON на {function}: Moodle, возможно, в режиме "
                    "обслуживания, или moodle.url указывает на страницу входа, прокси или другую",
                    url=self.base_url,
                    function=wsfunction,
                ),
                wsfunction=wsfunction,
            )
        if not head:
            raise e.NotServing(
                _(
                    "{url} прислал пустой ответ на {function}: ошибка PHP на сервере? Смотрите журнал ошибок Moodle",
                    url=self.base_url,
                    function=wsfunction,
                ),
                wsfunction=wsfunction,
            )
        if raw:
            # An object may be one of Moodle's errors, and an array not closed was cut short (Truncated,
            # retried like any other): read those to tell. A whole array is checked when it is decoded.
            if head[:1] != b"[" or not content.rstrip().endswith(b"]"):
                self.validated(wsfunction, content)
            return content
        return self.validated(wsfunction, content, adapter)

    def validated(self, wsfunction: str, content: bytes, adapter: TypeAdapter[Any] | None = None) -> Any:
        """A redacted 200 answer's JSON, validated by `adapter`: or Truncated, BadAnswer or Moodle's own error.

        An array answer (never one of Moodle's errors, which are objects) is parsed and validated in one pass
        (`validate_json`): issue 17, half the time of json.loads and then validation, on every mark a night."""
        head = content[:512].lstrip()
        if adapter is not None and head[:1] == b"[":
            try:
                return adapter.validate_json(content)
            except ValidationError as error:
                if error.errors()[0]["type"] != "json_invalid":
                    raise
            # Not JSON: json.loads below tells a truncated answer from another one.
        try:
            body = json.loads(content)
        except ValueError:
            if head[:1] in (b"{", b"["):
                raise e.Truncated(
                    _(
                        "{url} прислал обрезанный ответ на {function} (байт: {size}): соединение оборвалось "
                        "или сервер остановился посреди ответа",
                        url=self.base_url,
                        function=wsfunction,
                        size=len(content),
                    ),
                    wsfunction=wsfunction,
                ) from None
            raise e.BadAnswer(
                _(
                    "{url} прислал на {function} ответ не в JSON (байт: {size})",
                    url=self.base_url,
                    function=wsfunction,
                    size=len(content),
                ),
                wsfunction=wsfunction,
            ) from None
        if isinstance(body, dict) and "exception" in body and "errorcode" in body:
            raise classify(body, wsfunction=wsfunction, base_url=self.base_url, token_hint=self.token_hint)
        return body if adapter is None else adapter.validate_python(body)


def _looks_like_maintenance(content: bytes) -> bool:
    text = content[:4096].lower()
    return b"maintenance" in text or "техническ".encode() in text  # not a message: what a Russian Moodle page says


def _maintenance(base_url: str, wsfunction: str) -> e.Maintenance:
    return e.Maintenance(
        e.maintenance_message(base_url),
        wsfunction=wsfunction,
        errorcode="sitemaintenance",
    )


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds or an HTTP date, capped at MAX_RETRY_AFTER."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _reason(error: requests.ConnectionError) -> str:
    text = str(error)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "No route to host",
        "Temporary failure in name resolution",
        "Connection reset",
        "timed out",
        "CERTIFICATE_VERIFY_FAILED",
    ):
        if marker in text:
            return marker.lower()
    return type(error).__name__
