"""The forms source: registrations, sign-in lists and defense protocols exported as CSV or XLSX."""

from connectors.base import FormBatch
from connectors.forms.connector import FormsConnector, form_files
from connectors.forms.mapping import find_form, form_cohort

__all__ = ["FormBatch", "FormsConnector", "find_form", "form_cohort", "form_files"]
