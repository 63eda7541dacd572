"""Every table of warroom's schema. Importing this package registers them all on
`Base.metadata` (what the Alembic migrations see); each module imports only `base`, so there
is no import circle."""

from incident.models.alert import AlertRecord
from incident.models.base import Base
from incident.models.incident import Incident, Participant, Status, TimelineEvent
from incident.models.operation import RolloutFollow
from incident.models.page import Page
from incident.models.postmortem import ActionItem, PostmortemRecord, PostmortemSection

__all__ = [
    "ActionItem",
    "AlertRecord",
    "Base",
    "Incident",
    "Page",
    "Participant",
    "PostmortemRecord",
    "PostmortemSection",
    "RolloutFollow",
    "Status",
    "TimelineEvent",
]
