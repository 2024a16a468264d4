"""The Moodle source: enrolled users, attendance sessions and defense grades per cohort."""

from connectors.moodle.client import MoodleClient
from connectors.moodle.connector import MoodleConnector

__all__ = ["MoodleClient", "MoodleConnector"]
