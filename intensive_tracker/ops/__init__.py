"""Running it: schedule arithmetic, status, serving the report, signals and progress."""
