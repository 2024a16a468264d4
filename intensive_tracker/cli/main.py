"""The `intensive-tracker` entry point: the root group with every verb registered."""

from __future__ import annotations

# Each module registers its verbs on the root group when imported.
from intensive_tracker.cli import (  # noqa: F401
    admin_commands,
    annual_commands,
    form_commands,
    mail_commands,
    person_commands,
    sync_commands,
)
from intensive_tracker.cli.context import cli


def main() -> None:
    cli(prog_name="intensive-tracker")
