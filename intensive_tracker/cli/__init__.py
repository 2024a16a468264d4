"""The `intensive-tracker` command line: verbs for administrators and scripts, sysexits exit codes."""

from intensive_tracker.cli.main import cli, main

__all__ = ["cli", "main"]
