"""Configuration: one TOML file parsed into typed models; secrets only from the environment.

One module per group of sections (moodle, people, mail, forms, schedule), the root model in
`settings` and the file handling in `loader`; every public name is re-exported here, so callers
import from `intensive_tracker.config` whatever module holds it.
"""

from __future__ import annotations

from intensive_tracker.config.forms import DEFAULT_FAILING, DEFAULT_PASSING, FormField, FormSettings
from intensive_tracker.config.loader import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    load_settings,
    parse_settings,
    resolve_config_path,
)
from intensive_tracker.config.mail import MailSettings
from intensive_tracker.config.moodle import (
    DEFAULT_PRESENT_STATUSES,
    CohortSettings,
    MoodleSettings,
    ProfileFields,
    ProgramSettings,
)
from intensive_tracker.config.people import (
    DistrictExtra,
    DistrictSettings,
    JoinOverride,
    PeopleSettings,
    SplitOverride,
)
from intensive_tracker.config.schedule import ScheduleSettings
from intensive_tracker.config.settings import QualitySettings, ReportSettings, Settings

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "DEFAULT_FAILING",
    "DEFAULT_PASSING",
    "DEFAULT_PRESENT_STATUSES",
    "CohortSettings",
    "DistrictExtra",
    "DistrictSettings",
    "FormField",
    "FormSettings",
    "JoinOverride",
    "MailSettings",
    "MoodleSettings",
    "PeopleSettings",
    "ProfileFields",
    "ProgramSettings",
    "QualitySettings",
    "ReportSettings",
    "ScheduleSettings",
    "Settings",
    "SplitOverride",
    "load_settings",
    "parse_settings",
    "resolve_config_path",
]
