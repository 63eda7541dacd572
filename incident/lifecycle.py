"""The rules for moving an incident along: acknowledging, updates, status, severity,
commander, notes and resolution.

Each rule takes the incident row (locked by the caller), changes it, and records the timeline
event that explains the change, so the card, the reminders and the post-mortem all read the
same story. A `key` names the Slack delivery behind the request: when that key is already on
the timeline, the request is a redelivery and nothing changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from incident import event_kinds as K
from incident import timeline
from incident.escaping import escape_mrkdwn
from incident.models import Incident, Status
from incident.roles import UNASSIGNED
from incident.severity import SeverityError, parse_severity
from incident.timefmt import utc_text

MAX_TEXT = 3000
MITIGATED = (Status.MITIGATING.value, Status.MONITORING.value)
OPEN_STATUSES = tuple(s.value for s in Status if s is not Status.RESOLVED)
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


class LifecycleError(Exception):
    """A request the rules refuse; the message is written for the person who asked."""


class IncidentResolved(LifecycleError):
    """The incident was resolved before this request arrived (a stale button or command)."""

    def __init__(self, incident: Incident) -> None:
        when = f" at {utc_text(incident.resolved_at)}" if incident.resolved_at else ""
        super().__init__(
            f"Incident #{incident.number} was already resolved{when}; nothing was changed."
        )
        self.number = incident.number


@dataclass(frozen=True)
class Change:
    """One field that moved, as recorded on the timeline."""

    kind: str
    before: Any
    after: Any


@dataclass
class Outcome:
    incident: Incident
    changes: list[Change] = field(default_factory=list)
    # The same delivery was applied before: nothing happened this time.
    duplicate: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def change(self, kind: str) -> Change | None:
        return next((c for c in self.changes if c.kind == kind), None)


def _require_open(incident: Incident) -> None:
    if not incident.is_open:
        raise IncidentResolved(incident)


def clean_text(text: str | None, what: str, *, required: bool = True) -> str | None:
    value = (text or "").strip()
    if not value:
        if required:
            raise LifecycleError(f"The {what} is empty; write a few words.")
        return None
    if len(value) > MAX_TEXT:
        raise LifecycleError(
            f"The {what} is {len(value)} characters long; keep it under {MAX_TEXT}."
        )
    return value


def parse_status(text: str) -> str:
    value = text.strip().lower()
    if value not in {s.value for s in Status}:
        raise LifecycleError(
            f"Unknown status `{escape_mrkdwn(value[:30])}`. "
            f"Use one of: {', '.join(s.value for s in Status)}."
        )
    return value


def check_user_id(user: str) -> str:
    if not _USER_ID.fullmatch(user or ""):
        raise LifecycleError("That is not a Slack user; mention them, like `@alice`.")
    return user


async def _implicit_ack(
    session: AsyncSession, incident: Incident, *, actor: str, now: datetime, via: str
) -> list[Change]:
    """Posting an update or moving the status shows someone is on it."""
    if incident.acknowledged_at is not None:
        return []
    await _claim(session, incident, K.ACKNOWLEDGED, at=now, actor=actor, data={"via": via})
    incident.acknowledged_at = now
    return [Change(K.ACKNOWLEDGED, None, now)]


def _enter_status(incident: Incident, status: str, now: datetime) -> None:
    incident.status = status
    if status in MITIGATED and incident.mitigated_at is None:
        incident.mitigated_at = now


async def _claim(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    *,
    at: datetime,
    actor: str,
    text: str | None = None,
    data: dict[str, Any] | None = None,
    key: str | None = None,
) -> bool:
    return await timeline.record(
        session, incident.number, kind, at=at, actor=actor, text=text, data=data, key=key
    )


async def acknowledge(
    session: AsyncSession, incident: Incident, *, actor: str, now: datetime, key: str | None = None
) -> Outcome:
    _require_open(incident)
    if incident.acknowledged_at is not None:
        return Outcome(incident)
    if not await _claim(session, incident, K.ACKNOWLEDGED, at=now, actor=actor, key=key):
        return Outcome(incident, duplicate=True)
    incident.acknowledged_at = now
    changes = [Change(K.ACKNOWLEDGED, None, now)]
    if incident.commander_id == UNASSIGNED and _USER_ID.fullmatch(actor):
        # declared by an alert: whoever takes it commands it (incident.roles)
        data = {"before": UNASSIGNED, "after": actor}
        await _claim(session, incident, K.COMMANDER, at=now, actor=actor, data=data)
        incident.commander_id = actor
        changes.append(Change(K.COMMANDER, UNASSIGNED, actor))
    return Outcome(incident, changes)


async def post_update(
    session: AsyncSession,
    incident: Incident,
    text: str,
    *,
    actor: str,
    now: datetime,
    status: str | None = None,
    impact: str | None = None,
    key: str | None = None,
    public: bool = False,
) -> Outcome:
    """An update may also move the status and restate the impact; the one `update` event
    carries both, as the event contract says. A `public` update (data `public: true`) is
    shown on the status page and in the stakeholder summaries."""
    _require_open(incident)
    message = clean_text(text, "update")
    if status is not None:
        status = parse_status(status)
        if status == Status.RESOLVED.value:
            raise LifecycleError("Resolve with `/incident resolve <summary>`, not with an update.")
    new_impact = clean_text(impact, "impact", required=False)
    data: dict[str, Any] = {"public": True} if public else {}
    changes: list[Change] = []
    if status and status != incident.status:
        data.update(status=status, status_before=incident.status)
        changes.append(Change(K.STATUS, incident.status, status))
    if new_impact and new_impact != incident.impact:
        data.update(impact=new_impact, impact_before=incident.impact)
        changes.append(Change(K.IMPACT, incident.impact, new_impact))
    if not await _claim(
        session, incident, K.UPDATE, at=now, actor=actor, text=message, data=data, key=key
    ):
        return Outcome(incident, duplicate=True)
    changes.insert(0, Change(K.UPDATE, None, message))
    changes += await _implicit_ack(session, incident, actor=actor, now=now, via="update")
    if status and status != incident.status:
        _enter_status(incident, status, now)
    if new_impact:
        incident.impact = new_impact
    incident.last_update_at = now
    return Outcome(incident, changes)


async def set_status(
    session: AsyncSession,
    incident: Incident,
    status: str,
    *,
    actor: str,
    now: datetime,
    key: str | None = None,
) -> Outcome:
    _require_open(incident)
    status = parse_status(status)
    if status == Status.RESOLVED.value:
        return await resolve(session, incident, None, actor=actor, now=now, key=key)
    if status == incident.status:
        return Outcome(incident)
    before = incident.status
    data = {"before": before, "after": status}
    if not await _claim(session, incident, K.STATUS, at=now, actor=actor, data=data, key=key):
        return Outcome(incident, duplicate=True)
    changes = [Change(K.STATUS, before, status)]
    changes += await _implicit_ack(session, incident, actor=actor, now=now, via="status")
    _enter_status(incident, status, now)
    return Outcome(incident, changes)


async def _replace(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    field_name: str,
    value: str,
    *,
    actor: str,
    now: datetime,
    key: str | None,
) -> Outcome:
    """A field that simply moves from one value to another, explained by one event."""
    before = getattr(incident, field_name)
    if value == before:
        return Outcome(incident)
    data = {"before": before, "after": value}
    if not await _claim(session, incident, kind, at=now, actor=actor, data=data, key=key):
        return Outcome(incident, duplicate=True)
    setattr(incident, field_name, value)
    return Outcome(incident, [Change(kind, before, value)])


async def set_severity(
    session: AsyncSession,
    incident: Incident,
    severity: str,
    *,
    actor: str,
    now: datetime,
    key: str | None = None,
) -> Outcome:
    _require_open(incident)
    try:
        severity = parse_severity(severity)
    except SeverityError as exc:
        raise LifecycleError(str(exc)) from None
    return await _replace(
        session, incident, K.SEVERITY, "severity", severity, actor=actor, now=now, key=key
    )


async def set_commander(
    session: AsyncSession,
    incident: Incident,
    user: str,
    *,
    actor: str,
    now: datetime,
    key: str | None = None,
) -> Outcome:
    _require_open(incident)
    user = check_user_id(user)
    return await _replace(
        session, incident, K.COMMANDER, "commander_id", user, actor=actor, now=now, key=key
    )


async def add_note(
    session: AsyncSession,
    incident: Incident,
    text: str,
    *,
    actor: str,
    now: datetime,
    cause_candidate: bool = False,
    key: str | None = None,
) -> Outcome:
    _require_open(incident)
    note = clean_text(text, "note")
    data = {"cause_candidate": cause_candidate}
    if not await _claim(
        session, incident, K.NOTE, at=now, actor=actor, text=note, data=data, key=key
    ):
        return Outcome(incident, duplicate=True)
    return Outcome(incident, [Change(K.NOTE, None, note)])


async def resolve(
    session: AsyncSession,
    incident: Incident,
    summary: str | None,
    *,
    actor: str,
    now: datetime,
    key: str | None = None,
) -> Outcome:
    """Resolution is final: every later button or command on this incident is stale."""
    _require_open(incident)
    text = clean_text(summary, "summary", required=False)
    before = incident.status
    data = {"before": before, "after": Status.RESOLVED.value}
    if not await _claim(
        session, incident, K.RESOLVED, at=now, actor=actor, text=text, data=data, key=key
    ):
        return Outcome(incident, duplicate=True)
    incident.status = Status.RESOLVED.value
    incident.resolved_at = now
    incident.summary = text
    if incident.mitigated_at is None:  # fixed without passing through mitigating
        incident.mitigated_at = now
    return Outcome(incident, [Change(K.RESOLVED, before, Status.RESOLVED.value)])


async def reopen(
    session: AsyncSession,
    incident: Incident,
    *,
    actor: str,
    now: datetime,
    key: str | None = None,
    reason: str | None = None,
) -> Outcome:
    """A resolved incident back to Mitigating (a check failed after resolution): open again,
    so the card's buttons and the reminders come back. `resolved_at` is cleared, because it
    means "resolved now"; the earlier resolution stays on the timeline. The update cadence
    restarts from now."""
    if incident.is_open:
        raise LifecycleError(
            f"Incident #{incident.number} is open ({incident.status}); nothing to reopen."
        )
    before = incident.status
    after = Status.MITIGATING.value
    data = {
        "before": before,
        "after": after,
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }
    text = clean_text(reason, "reason", required=False)
    if not await _claim(
        session, incident, K.REOPENED, at=now, actor=actor, text=text, data=data, key=key
    ):
        return Outcome(incident, duplicate=True)
    incident.status = after
    incident.resolved_at = None
    incident.last_update_at = now
    if incident.mitigated_at is None:
        incident.mitigated_at = now
    return Outcome(incident, [Change(K.REOPENED, before, after)])
