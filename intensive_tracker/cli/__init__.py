"""The `intensive-tracker` command line: verbs for administrators and scripts, sysexits exit codes."""

from intensive_tracker.cli.context import cli
from intensive_tracker.cli.main import main

__all__ = ["cli", "main"]
