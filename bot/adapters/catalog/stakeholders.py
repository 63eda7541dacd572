"""The catalog's ``stakeholders:``: who hears a short summary of an incident, by severity and by
service. A channel is named (``exec-updates``, resolved to its id once); a user group is its
handle (``execs``) or its id (``S0EXEC``) and is mentioned in the summary::

    stakeholders:
      by_severity: {SEV1: {channels: [exec-updates], usergroups: [S0EXEC]}}
      by_service: {checkout: {channels: [payments-stakeholders]}}

Severity keys are read by the same parser as every command (``P1``, ``critical``... are
stored as their level); a word that names no level, or a service the catalog does not list,
is reported with its file and line by `load._resolve_references` (`Stakeholders.problems`).
User groups without any channel in the same entry are mentioned in ``#incidents``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from incident.severity import SeverityError, parse_severity

_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,31}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StakeholderTarget(_Model):
    channels: list[str] = Field(default_factory=list)
    usergroups: list[str] = Field(default_factory=list)

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, value: list[str]) -> list[str]:
        names = [v.strip().lstrip("#") for v in value]
        for name in names:
            if not _CHANNEL.match(name):
                raise ValueError(
                    f"{name!r} is not a channel name (lower-case letters, digits, '.', '_', '-')"
                )
        return list(dict.fromkeys(names))

    @field_validator("usergroups")
    @classmethod
    def _group_handles(cls, value: list[str]) -> list[str]:
        handles = [v.strip().lstrip("@") for v in value]
        for handle in handles:
            if not _GROUP.match(handle):
                raise ValueError(f"{handle!r} is not a user group handle or id")
        return list(dict.fromkeys(handles))


def is_group_id(handle: str) -> bool:
    return bool(_GROUP_ID.match(handle))


class Stakeholders(_Model):
    by_severity: dict[str, StakeholderTarget] = Field(default_factory=dict)
    by_service: dict[str, StakeholderTarget] = Field(default_factory=dict)

    @field_validator("by_severity", mode="before")
    @classmethod
    def _levels(cls, value: Any) -> Any:
        # `P1:` is stored as `SEV1`; a word that names no level is kept for `problems`.
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for key, target in value.items():
            try:
                level = parse_severity(str(key))
            except SeverityError:
                level = str(key)
            if level in out:
                raise ValueError(f"{key!r} names {level} a second time")
            out[level] = target
        return out

    def problems(self, services: list[str]) -> list[tuple[tuple[str | int, ...], str]]:
        """Keys that name no severity level and services the catalog does not list."""
        found: list[tuple[tuple[str | int, ...], str]] = []
        for key in self.by_severity:
            try:
                parse_severity(key)
            except SeverityError as exc:
                found.append((("stakeholders", "by_severity", key), str(exc)))
        known = ", ".join(services) or "none"
        for key in self.by_service:
            if key not in services:
                found.append(
                    (
                        ("stakeholders", "by_service", key),
                        f"unknown service {key!r} (known: {known})",
                    )
                )
        return found

    def for_incident(self, severity: str, service: str | None) -> StakeholderTarget:
        """Everyone who hears about an incident of this severity and service, each once."""
        parts = [self.by_severity.get(severity), self.by_service.get(service or "")]
        channels: dict[str, None] = {}
        groups: dict[str, None] = {}
        for part in parts:
            if part is not None:
                channels.update(dict.fromkeys(part.channels))
                groups.update(dict.fromkeys(part.usergroups))
        return StakeholderTarget.model_construct(channels=list(channels), usergroups=list(groups))

    def groups_without_channel(self, severity: str, service: str | None) -> list[str]:
        """User groups whose entry names no channel: they are mentioned in #incidents."""
        out: dict[str, None] = {}
        for part in (self.by_severity.get(severity), self.by_service.get(service or "")):
            if part is not None and not part.channels:
                out.update(dict.fromkeys(part.usergroups))
        return list(out)
