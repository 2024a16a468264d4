"""What every command shares: the root group, its options, and the `App` built on first use."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from intensive_tracker import __version__
from intensive_tracker.app import App, load_settings
from intensive_tracker.cli.click_words import route_click_to_catalog
from intensive_tracker.config import Settings, resolve_config_path
from intensive_tracker.errors import TrackerError
from intensive_tracker.i18n import LANGUAGES, N_, Language, _, language_from_env, set_language
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


def _lang_among(args: list[str]) -> Language | None:
    """The value of --lang on the command line, read before click parses it (None: absent or not a language)."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        value = args[i + 1] if arg == "--lang" and i + 1 < len(args) else arg.removeprefix("--lang=")
        if arg.startswith("--lang") and value in LANGUAGES:
            return value
    return None


route_click_to_catalog()


@contextmanager
def _shown(*things: Any) -> Iterator[None]:
    """Inside the block, the help texts and metavars of commands and parameters are in the active language.

    They are msgids (`N_`) when declared, at import, before --lang is known; click reads them when it
    writes the help, so they are translated for that moment and put back after.
    """
    saved = []
    for thing in things:
        for attribute in ("help", "short_help", "metavar", "options_metavar", "subcommand_metavar"):
            value = getattr(thing, attribute, None)
            if isinstance(value, str) and value:
                saved.append((thing, attribute, value))
                setattr(thing, attribute, _(value))
    try:
        yield
    finally:
        for thing, attribute, value in reversed(saved):
            setattr(thing, attribute, value)


class _Translated(click.Command):
    """A command whose help, options' help and usage line are written in the language --lang chose."""

    def get_short_help_str(self, limit: int = 45) -> str:
        with _shown(self):
            return super().get_short_help_str(limit)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _shown(self):
            super().format_usage(ctx, formatter)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _shown(self):
            super().format_help_text(ctx, formatter)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _shown(*self.get_params(ctx)):
            super().format_options(ctx, formatter)

    def format_arguments(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _shown(*self.get_params(ctx)):
            super().format_arguments(ctx, formatter)


class TrackerCommand(_Translated):
    """Every verb: help in the chosen language."""


class TrackerArgument(click.Argument):
    """An argument whose metavar (ИМЯ, ФАЙЛ) is in the chosen language, in the help and in errors alike."""

    def make_metavar(self, ctx: click.Context) -> str:
        with _shown(self):
            return super().make_metavar(ctx)


class TrackerGroup(_Translated, click.Group):
    """Turns a TrackerError into its message on stderr and its exit code; help in the chosen language."""

    command_class = TrackerCommand
    group_class = type  # subgroups are TrackerGroups too

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        if parent is None:  # before parsing: a usage error or an eager --help is written in it too
            set_language(_lang_among(args) or language_from_env())
        return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as e:
            click.echo(_("Ошибка: {message}", message=redact(str(e))), err=True)
            ctx.exit(e.exit_code)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_("intensive-tracker, версия {version}", version=__version__))
        ctx.exit()


@click.group(
    cls=TrackerGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=N_("Синхронизирует интенсивы лаборатории из Moodle и строит отчёт методиста."),
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar=N_("ФАЙЛ"),
    help=N_("Файл конфигурации (по умолчанию: $INTENSIVE_TRACKER_CONFIG, иначе ./config.toml)."),
)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    is_eager=True,  # before --help, so that the help is in the chosen language
    expose_value=True,
    callback=lambda _ctx, _param, value: _choose_language(value),
    help=N_("Язык сообщений и документов: ru (по умолчанию) или en; без него терминал следует LANG."),
)
@click.option("-q", "--quiet", is_flag=True, help=N_("Только ошибки в stderr, без хода работы."))
@click.option("-v", "--verbose", is_flag=True, help=N_("Отладочный журнал."))
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help=N_("Show the version and exit."),
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, lang: Language | None, quiet: bool, verbose: bool) -> None:
    setup_logging(verbose=verbose, quiet=quiet)
    obj = Context(config_path, quiet=quiet, lang=lang)
    ctx.obj = obj
    ctx.call_on_close(obj.close)
