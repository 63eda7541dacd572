"""The catalog's ``oncall:`` and ``alerts:`` sections, and the domain objects built from them.

Every value is read by the same strict parsers the domain uses (`incident.oncall`,
`incident.severity`), so a bad duration, zone, handoff or user id stops start-up with the
file and line. References between sections (a target naming a schedule, a service naming an
escalation) are checked in `load._resolve_references`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from incident.oncall import (
    EscalationPolicy,
    EscalationStep,
    Override,
    Rotation,
    Schedule,
    parse_duration,
    parse_handoff,
    parse_target,
    parse_user_id,
)
from incident.severity import parse_severity


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: object) -> timedelta:
    # Before pydantic's own reading, which would take 300 as seconds and "PT5M" as ISO 8601.
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration: write 30s, 5m, 1h, 1d or 1w")
    return parse_duration(value)


def _timestamp(value: object) -> object:
    # YAML and TOML give datetimes, quoted text is ISO 8601; a bare number is no timestamp.
    if not isinstance(value, str | datetime):
        raise ValueError("write a date and time with its offset: 2026-12-24T18:00:00+01:00")
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
UserId = Annotated[str, AfterValidator(parse_user_id)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp)]


class RotationSpec(_Model):
    """``{start: "2026-11-30", every: 1w, handoff: "monday 09:00", people: [U0AAA, ...]}``."""

    start: date
    every: Duration
    handoff: str
    people: list[UserId] = Field(min_length=1)

    @field_validator("every")
    @classmethod
    def _whole_days(cls, value: timedelta) -> timedelta:
        if value % timedelta(days=1):
            raise ValueError("a rotation hands off every whole number of days: 1d, 1w, 2w...")
        return value

    @field_validator("handoff")
    @classmethod
    def _handoff(cls, value: str) -> str:
        parse_handoff(value)
        return value

    @model_validator(mode="after")
    def _weekly_with_weekday(self) -> RotationSpec:
        weekday, _ = parse_handoff(self.handoff)
        if weekday is not None and self.every.days % 7:
            raise ValueError(
                "a handoff on a weekday needs every in whole weeks (1w, 2w...); "
                "for a handoff every day write only the time (09:00)"
            )
        return self

    def to_domain(self) -> Rotation:
        weekday, at = parse_handoff(self.handoff)
        return Rotation(self.start, self.every, weekday, at, tuple(self.people))


class OverrideSpec(_Model):
    """``{user: U0DDD, from: ..., to: ...}``: ``user`` is on call from ``from`` up to ``to``."""

    model_config = ConfigDict(populate_by_name=True)

    user: UserId
    start: Timestamp = Field(alias="from")
    end: Timestamp = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> OverrideSpec:
        if self.end <= self.start:
            raise ValueError("an override's to must be after its from")
        return self


class ScheduleSpec(_Model):
    timezone: str
    rotation: RotationSpec
    overrides: list[OverrideSpec] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        _zone(value)
        return value

    def to_domain(self, name: str) -> Schedule:
        overrides = tuple(Override(o.user, o.start, o.end) for o in self.overrides)
        return Schedule(name, _zone(self.timezone), self.rotation.to_domain(), overrides)


class StepSpec(_Model):
    """``{notify: "schedule:platform", wait: 5m}``; the last step may leave out ``wait``."""

    notify: str
    wait: Duration | None = None

    @field_validator("notify")
    @classmethod
    def _target(cls, value: str) -> str:
        parse_target(value)
        return value

    def to_domain(self) -> EscalationStep:
        return EscalationStep(parse_target(self.notify), self.wait)


def _steps(steps: list[StepSpec]) -> list[StepSpec]:
    if not steps:
        raise ValueError("an escalation needs at least one step")
    return steps


Steps = Annotated[list[StepSpec], AfterValidator(_steps)]


class OncallSection(_Model):
    schedules: dict[str, ScheduleSpec] = Field(default_factory=dict)
    escalations: dict[str, Steps] = Field(default_factory=dict)

    @functools.cached_property
    def built_schedules(self) -> dict[str, Schedule]:
        """The domain schedules, built once per loaded catalog (not a field: not compared)."""
        return {name: spec.to_domain(name) for name, spec in self.schedules.items()}

    @functools.cached_property
    def built_escalations(self) -> dict[str, EscalationPolicy]:
        return {
            name: EscalationPolicy(name, tuple(step.to_domain() for step in steps))
            for name, steps in self.escalations.items()
        }


class AlertRule(_Model):
    """``{match: {severity: critical}, declare: SEV1}`` or ``{match: {...}, post: true}``.

    ``declare`` is the canonical level (``SEV1``) read with the default aliases;
    `declare_as_written` keeps the word, so start-up can read it again with the policy
    file's aliases (`load.check_alert_severities`)."""

    match: dict[str, str]
    declare: str | None = None
    post: bool = False
    _written: str | None = PrivateAttr(default=None)

    @field_validator("match")
    @classmethod
    def _not_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("an empty match would take every alert: name at least one label")
        return value

    @field_validator("declare")
    @classmethod
    def _severity(cls, value: str | None) -> str | None:
        return None if value is None else parse_severity(value)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_word(cls, data: Any, handler: Any) -> AlertRule:
        rule = handler(data)
        if isinstance(data, Mapping) and isinstance(data.get("declare"), str):
            rule._written = data["declare"]
        return rule

    @model_validator(mode="after")
    def _does_something(self) -> AlertRule:
        if self.declare is None and not self.post:
            raise ValueError("a rule needs declare: SEV1..SEV4 or post: true")
        return self

    @property
    def declare_as_written(self) -> str | None:
        return self._written if self._written is not None else self.declare

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(key) == value for key, value in self.match.items())


class AlertsSection(_Model):
    """``channel``: where alerts that declare nothing are posted (None: the default)."""

    channel: str | None = None
    rules: list[AlertRule] = Field(default_factory=list)

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not value.strip().lstrip("#"):
            raise ValueError("name a channel, or leave channel out")
        return value


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder (Europe)
        raise ValueError(
            f"unknown time zone {name!r}: write an IANA name such as Europe/Berlin or UTC"
        ) from None
