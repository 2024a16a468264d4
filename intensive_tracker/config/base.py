"""What every section of the config file shares: strict frozen models, and the e-mail address rule."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

# Deliberately strict: one address, no display name, no spaces or line breaks (header injection).
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


class Section(BaseModel):
    """A table of the config file: unknown keys are errors (a typo must not pass silently), values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)
