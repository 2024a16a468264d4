"""Finding, reading and validating the config file; errors name the key and say what to write."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from intensive_tracker.config.describe import describe
from intensive_tracker.config.settings import Settings
from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import _

CONFIG_ENV = "INTENSIVE_TRACKER_CONFIG"
DEFAULT_CONFIG = Path("config.toml")


def resolve_config_path(path: Path | None) -> Path:
    """The --config option, else $INTENSIVE_TRACKER_CONFIG, else ./config.toml."""
    if path is not None:
        return path
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else DEFAULT_CONFIG


def parse_settings(data: dict[str, Any], *, source: str, base_dir: Path | None = None) -> Settings:
    """Validate a parsed TOML mapping; a relative SQLite path is taken from the config's folder."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{source}: {describe(e, data, Settings)}") from None
    if base_dir is not None:
        settings = settings.model_copy(update={"database_url": _anchor_sqlite(settings.database_url, base_dir)})
        if settings.forms:
            settings = settings.model_copy(update={"forms": [f.anchored(base_dir) for f in settings.forms]})
    return settings


def load_settings(path: Path) -> Settings:
    """Read and validate the config file at `path`."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            _(
                "{path}: файла конфигурации нет (скопируйте config.example.toml или выполните "
                "`intensive-tracker demo`, чтобы получить готовый)",
                path=path,
            )
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(_("{path}: файл не читается: {error}", path=path, error=e)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(_("{path}: ошибка синтаксиса TOML: {error}", path=path, error=e)) from None
    return parse_settings(data, source=str(path), base_dir=path.resolve().parent)


def _anchor_sqlite(url: str, base_dir: Path) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite://":
        return url
    rest = url[len(prefix) :]
    if not rest or rest.startswith("/") or rest.startswith(":memory:"):
        return url
    return prefix + str((base_dir / rest).resolve())
