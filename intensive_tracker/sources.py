"""Builds the configured connectors, starting the stand-in Moodle when the config names it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from importlib.metadata import entry_points

from connectors.base import Connector
from connectors.moodle import MoodleClient, MoodleConnector
from intensive_tracker.config import MoodleSettings, Settings
from intensive_tracker.errors import ConfigError

ENTRY_POINT_GROUP = "intensive_tracker.connectors"


def known_connectors() -> list[str]:
    """Names of the installed source plugins."""
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def make_client(moodle: MoodleSettings, *, base_url: str | None = None, token: str | None = None) -> MoodleClient:
    url = base_url or moodle.url
    if not url:
        raise ConfigError("moodle.url is not set")
    return MoodleClient(
        url, token if token is not None else moodle.token(), connect_timeout=moodle.connect_timeout,
        read_timeout=moodle.read_timeout, retries=moodle.retries, backoff=moodle.backoff,
        max_in_flight=moodle.max_in_flight, token_hint=moodle.token_env,
    )


@contextmanager
def moodle_client(settings: Settings) -> Iterator[MoodleClient]:
    """A client for the configured Moodle; for `standin = "demo"` the stand-in runs meanwhile."""
    moodle = settings.moodle
    if moodle is None:
        raise ConfigError("the config has no [moodle] section")
    if moodle.standin:
        from connectors.demo import StandinMoodle, generate_demo_world

        with StandinMoodle(generate_demo_world(moodle.standin_seed)) as standin:
            yield make_client(moodle, base_url=standin.url, token=standin.token)
        return
    yield make_client(moodle)


@contextmanager
def open_connectors(settings: Settings) -> Iterator[list[Connector]]:
    """Every source the config names, ready to yield batches."""
    with ExitStack() as stack:
        connectors: list[Connector] = []
        if settings.moodle is not None and settings.cohorts:
            client = stack.enter_context(moodle_client(settings))
            moodle = MoodleConnector(settings, client)
            # Token and service functions are proven before the sync writes anything (issue 3).
            moodle.preflight()
            connectors.append(moodle)
        if settings.forms:
            from connectors.forms import FormsConnector

            connectors.append(FormsConnector(settings))
        yield connectors
