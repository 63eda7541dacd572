"""The catalog's optional ``security:``: who is invited to a private (security) incident
besides its declarer and commander. ``usergroup`` is a Slack user group, by id (``S0SEC``)
or handle (``security``); ``schedule`` names an on-call schedule of ``oncall.schedules``
(whoever is on call when the incident is declared).

    security:
      usergroup: security
      schedule: security
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator

_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_HANDLE = re.compile(r"^@?[a-z0-9][a-z0-9._-]*$")


class Security(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    usergroup: str | None = None
    schedule: str | None = None

    @field_validator("usergroup")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not (_GROUP_ID.match(value) or _HANDLE.match(value)):
            raise ValueError("a user group id (S0SEC) or handle (security)")
        return value

    @property
    def group_id(self) -> str | None:
        """The group's id when the catalog gives one (else its handle must be looked up)."""
        return self.usergroup if self.usergroup and _GROUP_ID.match(self.usergroup) else None

    def problems(self, schedules: list[str]) -> list[tuple[tuple[str | int, ...], str]]:
        """Load-time reference check: the schedule must be one the catalog declares."""
        if self.schedule is not None and self.schedule not in schedules:
            known = ", ".join(schedules) or "none"
            reason = f"unknown schedule {self.schedule!r} (declared: {known})"
            return [(("security", "schedule"), reason)]
        return []
