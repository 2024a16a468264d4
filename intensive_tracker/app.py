"""The composition root: settings, one engine, the district registry and the connectors, built once.

The command line and the scheduled jobs both go through `App`: `sync_sources`, `publish_report` and
`send_emails` are the only ways they do work, so a night and a manual run cannot differ. Nothing is
built at import time; each command or job makes its `App` from the config and closes it (the
engine is disposed) when done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from datetime import datetime
from functools import cached_property, wraps
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.engine import Engine

from connectors.base import Connector
from intensive_tracker import config
from intensive_tracker.config import Settings
from intensive_tracker.errors import ConfigError
from intensive_tracker.files import use_group
from intensive_tracker.i18n import Language, _, using
from intensive_tracker.mail import PreviewReport, SendReport, preview_all, resend, send_all
from intensive_tracker.people.districts import Registry, registry_from_settings, validate_districts
from intensive_tracker.people.refresh import refresh_districts
from intensive_tracker.reports.figure_types import Summary
from intensive_tracker.reports.figures import build_summary, programs_with_defense
from intensive_tracker.reports.quality import build_quality
from intensive_tracker.reports.quality_json import quality_json
from intensive_tracker.reports.quality_types import QualityReport
from intensive_tracker.site.annual_report import report_year, write_annual_report, write_beside_site
from intensive_tracker.site.annual_styles import open_template
from intensive_tracker.site.pages import site_rosters
from intensive_tracker.site.person_pages import write_person_pages
from intensive_tracker.site.quality_page import render_quality
from intensive_tracker.site.render import render_site
from intensive_tracker.store.engine import make_engine, transaction
from intensive_tracker.store.schema import ensure_schema
from intensive_tracker.sync.engine import run_sync
from intensive_tracker.sync.state import SyncReport

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "intensive_tracker.connectors"


def load_settings(path: Path) -> Settings:
    """The config file at `path`, validated, `[districts]` checked against the registry."""
    settings = config.load_settings(path)
    validate_districts(settings, source=str(path))
    return settings


def parse_settings(data: dict[str, Any], *, source: str, base_dir: Path | None = None) -> Settings:
    """A parsed TOML mapping, validated as `load_settings` does."""
    settings = config.parse_settings(data, source=source, base_dir=base_dir)
    validate_districts(settings, source=source)
    return settings


# --- source plugins ----------------------------------------------------------------------------


def _plugin_entry_points() -> list[EntryPoint]:
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def known_connectors() -> list[str]:
    """Names of the installed source plugins."""
    return [ep.name for ep in _plugin_entry_points()]


def connector_classes() -> list[type[Connector]]:
    """The installed source plugins, in the order they sync; a plugin that fails to load is named."""
    classes: list[type[Connector]] = []
    for ep in _plugin_entry_points():
        try:
            plugin = ep.load()
        except Exception as e:  # a broken third-party package must not look like our bug
            raise ConfigError(
                _(
                    "плагин источника «{name}» ({value}) не загружается: {kind}: {error}; "
                    "переустановите или удалите пакет, который его добавляет",
                    name=ep.name,
                    value=ep.value,
                    kind=type(e).__name__,
                    error=e,
                )
            ) from None
        if not callable(getattr(plugin, "from_settings", None)) or not hasattr(plugin, "batches"):
            raise ConfigError(
                _(
                    "плагин источника «{name}» ({value}) — не коннектор: ему нужны "
                    "from_settings(settings, stack) и batches(cursors)",
                    name=ep.name,
                    value=ep.value,
                )
            )
        classes.append(plugin)
    return sorted(classes, key=lambda cls: getattr(cls, "order", 50))


@contextmanager
def open_connectors(settings: Settings) -> Iterator[list[Connector]]:
    """Every source the config uses, ready to yield batches (found through the entry points)."""
    with ExitStack() as stack:
        connectors = []
        for cls in connector_classes():
            connector = cls.from_settings(settings, stack)
            if connector is not None:
                connectors.append(connector)
        yield connectors


# --- the application ---------------------------------------------------------------------------


P = ParamSpec("P")
R = TypeVar("R")


def _for_others(method: Callable[P, R]) -> Callable[P, R]:
    """The method writes documents for others (pages, e-mails, Word): in the app's document language."""

    @wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        app = args[0]
        assert isinstance(app, App)
        with using(app.document_language):
            return method(*args, **kwargs)

    return wrapper


class App:
    """One command's or one job's world: settings, engine, registry, and the work they can do."""

    def __init__(self, settings: Settings, config_path: Path, *, language: Language | None = None) -> None:
        self.settings = settings
        self.config_path = config_path
        # Documents for others are written in `--lang` if given, else in `[report] language`.
        self.document_language: Language = language or settings.report.language
        self._engine: Engine | None = None
        use_group(settings.files.group)  # the modes of every file this command or job writes

    @classmethod
    def from_config(cls, path: Path) -> App:
        return cls(load_settings(path), path)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        return self._engine

    @cached_property
    def registry(self) -> Registry:
        return registry_from_settings(self.settings)

    def close(self) -> None:
        """Dispose of the engine (its pool and, for SQLite, its file handles)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> App:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def relative_to_config(self, path: Path) -> Path:
        """A path from the config, taken relative to the config file's folder."""
        return path if path.is_absolute() else self.config_path.resolve().parent / path

    def sync_sources(
        self,
        *,
        trigger: str = "manual",
        on_batch: Callable[[str, str], None] | None = None,
        on_failure: Callable[[str, str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        connectors: list[Connector] | None = None,
        full: bool = False,
    ) -> SyncReport:
        """Sync every configured source (or the given connectors) into the database.

        `full` (sync --full): every cohort fetched fully and every row compared, finished or not.
        """
        with nullcontext(connectors) if connectors is not None else open_connectors(self.settings) as chosen:
            for connector in chosen if full else []:
                request_full = getattr(connector, "request_full", None)
                if request_full is not None:
                    request_full()
            return run_sync(
                self.engine,
                self.settings,
                self.registry,
                chosen,
                trigger=trigger,
                on_batch=on_batch,
                on_failure=on_failure,
                should_stop=should_stop,
                full=full,
            )

    def annual_template(self, given: Path | None = None) -> Path | None:
        """Her Word document the annual report starts from: `given`, else `report.annual_template`."""
        configured = self.settings.report.annual_template
        return given or (self.relative_to_config(Path(configured)) if configured else None)

    def summary(self) -> Summary:
        """Every figure of the report, computed now from the stored records."""
        tz = self.settings.tz
        return build_summary(
            self.engine,
            self.registry,
            tz=tz,
            now=datetime.now(tz),
            school_year=self.settings.report.school_year,
            defense_programs=programs_with_defense(self.settings),
        )

    @_for_others
    def write_annual_report(self, *, year: str | None, out: Path | None, template: Path | None) -> Path:
        """The annual analytic report as an editable Word document; returns its path."""
        template = self.annual_template(template)
        if template is not None:
            open_template(template)  # a bad template is named before the database is read
        ensure_schema(self.engine)
        summary = self.summary()
        year = year or report_year(summary, self.settings.report.school_year)
        name = (year or "без-данных").replace("/", "-")  # not a message: a file name, the same in every language
        path = out or Path(f"annual-report-{name}.docx")
        return write_annual_report(summary, path, school_year=year, template=template)

    def quality(self) -> QualityReport:
        """The data-quality report, as quality.html and `data-quality` show it (districts re-resolved first)."""
        ensure_schema(self.engine)
        with transaction(self.engine) as session:
            refresh_districts(session, self.registry)
        return build_quality(self.engine, self.registry, self.settings, datetime.now(self.settings.tz))

    @_for_others
    def publish_report(self, out: Path | None = None) -> Path:
        """Render the report folder (pages, exports, summary.json, quality page); returns index.html."""
        settings = self.settings
        quality = self.quality()
        summary = self.summary()
        out_dir = out or self.relative_to_config(Path(settings.report.out_dir))
        all_rosters = site_rosters(self.engine, self.registry, summary)
        items = quality_json(quality)["items"]
        annual = write_beside_site(
            summary,
            out_dir,
            enabled=settings.report.annual_docx,
            school_year=settings.report.school_year,
            template=self.annual_template(),
        )
        index = render_site(
            summary,
            out_dir,
            rosters=all_rosters,
            context={"annual_docx": annual},
            person_pages=lambda folder: write_person_pages(
                self.engine, self.registry, summary, all_rosters, items, folder
            ),
        )
        render_quality(quality, out_dir)  # quality.html beside index.html
        return index

    @_for_others
    def send_emails(
        self, *, program: str | None = None, period: str | None = None, district: str | None = None
    ) -> SendReport:
        """Send the due district e-mails through the outbox, each once."""
        ensure_schema(self.engine)
        return send_all(self.settings, self.engine, self.registry, program=program, period=period, district=district)

    @_for_others
    def preview_emails(
        self, out_dir: Path, *, program: str | None = None, period: str | None = None, district: str | None = None
    ) -> PreviewReport:
        """Write the due district e-mails as .eml files and index.html, in the language they would be sent in."""
        ensure_schema(self.engine)
        return preview_all(
            self.settings,
            self.engine,
            self.registry,
            out_dir=out_dir,
            program=program,
            period=period,
            district=district,
        )

    @_for_others
    def resend_email(self, outbox_id: int) -> SendReport:
        """Send outbox message `outbox_id` again, after a person decided to."""
        ensure_schema(self.engine)
        return resend(self.settings, self.engine, self.registry, outbox_id)
