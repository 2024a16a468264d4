"""What every command shares: the root group, its options, and the `App` built on first use."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from intensive_tracker import __version__
from intensive_tracker.app import App, load_settings
from intensive_tracker.config import Settings, resolve_config_path
from intensive_tracker.errors import TrackerError
from intensive_tracker.i18n import LANGUAGES, Language, _, language_from_env, set_language
from intensive_tracker.logs import set_zone, setup_logging
from intensive_tracker.redact import redact

log = logging.getLogger("intensive_tracker")


class Context:
    """The config path, and the settings and `App` made from it on first use (closed when the command ends)."""

    def __init__(self, config_path: Path | None, *, quiet: bool, lang: Language | None = None) -> None:
        self.explicit_config = config_path
        self.quiet = quiet
        self.lang = lang  # --lang: the terminal's and the documents' language for this command
        self._app: App | None = None

    @property
    def config_path(self) -> Path:
        return resolve_config_path(self.explicit_config)

    @property
    def app(self) -> App:
        if self._app is None:
            settings = load_settings(self.config_path)
            set_zone(settings.tz)
            self._app = App(settings, self.config_path, language=self.lang)
        return self._app

    @property
    def settings(self) -> Settings:
        return self.app.settings

    def warn(self, text: str) -> None:
        """A warning or a note on stderr; with --quiet only errors are printed, so nothing."""
        if not self.quiet:
            click.echo(text, err=True)

    def use(self, path: Path) -> None:
        """Switch to another config file (the demo writes its own)."""
        self.close()
        self.explicit_config = path

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None


def _choose_language(value: Language | None) -> Language | None:
    """--lang if given, else the terminal's (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else Russian."""
    set_language(value or language_from_env())
    return value


class TrackerGroup(click.Group):
    """Turns a TrackerError into its message on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as e:
            click.echo(_("Ошибка: {message}", message=redact(str(e))), err=True)
            ctx.exit(e.exit_code)


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default: $INTENSIVE_TRACKER_CONFIG, else ./config.toml).",
)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    is_eager=True,  # before --help, so that the help is in the chosen language
    expose_value=True,
    callback=lambda _ctx, _param, value: _choose_language(value),
    help="Language of messages and documents: ru (default) or en; without it the terminal follows LANG.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr; no progress.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.version_option(__version__, prog_name="intensive-tracker")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, lang: Language | None, quiet: bool, verbose: bool) -> None:
    """Syncs the lab's Moodle intensives and renders the methodist's report."""
    setup_logging(verbose=verbose, quiet=quiet)
    obj = Context(config_path, quiet=quiet, lang=lang)
    ctx.obj = obj
    ctx.call_on_close(obj.close)
