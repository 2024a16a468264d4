"""Source plugins. Each yields `Batch`es that the sync engine writes, one transaction per batch.

Plugins register under the entry-point group ``intensive_tracker.connectors``.
"""

from connectors.base import (
    AttendanceRecord,
    Batch,
    CohortRef,
    Connector,
    DefenseRecord,
    EnrolmentRecord,
    PersonRecord,
    Reject,
    SessionRecord,
    SourceWarning,
)

__all__ = [
    "AttendanceRecord",
    "Batch",
    "CohortRef",
    "Connector",
    "DefenseRecord",
    "EnrolmentRecord",
    "PersonRecord",
    "Reject",
    "SessionRecord",
    "SourceWarning",
]
