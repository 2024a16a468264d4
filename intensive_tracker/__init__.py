"""intensive-tracker: Moodle intensives → SQL tables → reports and district emails."""

__version__ = "0.1.0"
