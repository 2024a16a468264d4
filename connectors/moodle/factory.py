"""A Moodle client from the config; for `standin = "demo"` the built-in stand-in runs meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from connectors.moodle.client import MoodleClient
from intensive_tracker.config import MoodleSettings, Settings
from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import _


def make_client(moodle: MoodleSettings, *, base_url: str | None = None, token: str | None = None) -> MoodleClient:
    """A client for `[moodle]`, the token read from the environment variable the config names."""
    url = base_url or moodle.url
    if not url:
        raise ConfigError(_("moodle.url не задан"))
    return MoodleClient(
        url,
        token if token is not None else moodle.token(),
        connect_timeout=moodle.connect_timeout,
        read_timeout=moodle.read_timeout,
        retries=moodle.retries,
        backoff=moodle.backoff,
        max_in_flight=moodle.max_in_flight,
        call_deadline=moodle.call_deadline,
        token_hint=moodle.token_env,
    )


@contextmanager
def moodle_client(settings: Settings) -> Iterator[MoodleClient]:
    """A client for the configured Moodle; for `standin = "demo"` the stand-in runs meanwhile."""
    moodle = settings.moodle
    if moodle is None:
        raise ConfigError(_("в конфигурации нет раздела [moodle]"))
    if moodle.standin:
        from connectors.demo import StandinMoodle, generate_demo_world

        with StandinMoodle(generate_demo_world(moodle.standin_seed)) as standin:
            yield make_client(moodle, base_url=standin.url, token=standin.token)
        return
    yield make_client(moodle)
