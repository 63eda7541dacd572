"""Which reminders an incident is owed right now.

Everything is derived from what Postgres holds (the incident row and its timeline), never from
timers in memory, so a restart or a second replica computes the same answer. Each reminder has
a deterministic key; the scheduler stores it on the timeline before sending, which is what
makes "exactly once" hold across replicas.

- ack: not acknowledged by the severity's deadline → escalate, and again at each further
  multiple of the deadline (only the latest one passed: a replica that was down for an hour
  sends one escalation, not twelve).
- update: the update cadence lapsed → nudge the commander, again at each further lapse.
- monitoring: in monitoring for the policy's window with nothing new → suggest resolving.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from incident import event_kinds as K
from incident.models import Incident, Status, TimelineEvent
from incident.severity import Policy, rank

ACK = "ack"
UPDATE = "update"
MONITORING = "monitoring"
# What the monitoring window needs from the timeline.
MONITORING_KINDS = (K.STATUS, K.UPDATE, K.SEVERITY)


@dataclass(frozen=True)
class Due:
    kind: str  # ack | update | monitoring
    due: datetime  # the deadline that passed
    key: str  # the timeline dedupe key that claims it
    # How many deadlines have passed (the 2nd escalation says so).
    count: int = 1
    since: datetime | None = None  # what the deadline counts from


def _key(kind: str, number: int, due: datetime) -> str:
    return f"reminder:{kind}:{number}:{due.isoformat()}"


def _latest_deadline(start: datetime, every: timedelta, now: datetime) -> tuple[datetime, int]:
    """The last `start + k·every` (k ≥ 1) that is ≤ now, and k; k = 0 when none passed."""
    passed = int((now - start) / every) if now >= start else 0
    return start + every * passed, passed


def ack_due(incident: Incident, policy: Policy, now: datetime) -> Due | None:
    every = policy.for_severity(incident.severity).ack_within
    if incident.acknowledged_at is not None or every is None or every <= timedelta(0):
        return None
    due, count = _latest_deadline(incident.declared_at, every, now)
    if count == 0:
        return None
    return Due(ACK, due, _key(ACK, incident.number, due), count, incident.declared_at)


def update_due(incident: Incident, policy: Policy, now: datetime) -> Due | None:
    every = policy.for_severity(incident.severity).update_every
    if every is None or every <= timedelta(0):
        return None
    since = incident.last_update_at or incident.declared_at
    due, count = _latest_deadline(since, every, now)
    if count == 0:
        return None
    return Due(UPDATE, due, _key(UPDATE, incident.number, due), count, since)


def _entered_status(event: TimelineEvent) -> str | None:
    if event.kind == K.STATUS:
        return (event.data or {}).get("after")
    if event.kind == K.UPDATE:
        return (event.data or {}).get("status")
    return None


def monitoring_since(incident: Incident, events: Iterable[TimelineEvent]) -> datetime | None:
    """When the current quiet spell in monitoring began: entering monitoring, or a later
    severity raise (a new problem restarts the window)."""
    if incident.status != Status.MONITORING.value:
        return None
    since: datetime | None = None
    for e in sorted(events, key=lambda e: (e.occurred_at, e.id or 0)):
        entered = _entered_status(e)
        if entered == Status.MONITORING.value:
            since = e.occurred_at
        elif entered is not None:
            since = None
        elif e.kind == K.SEVERITY and since is not None:
            before, after = (e.data or {}).get("before"), (e.data or {}).get("after")
            if before and after and rank(after) < rank(before):
                since = e.occurred_at
    return since or incident.mitigated_at


def monitoring_due(
    incident: Incident, events: Iterable[TimelineEvent], policy: Policy, now: datetime
) -> Due | None:
    since = monitoring_since(incident, events)
    if since is None or now < since + policy.monitoring_window:
        return None
    due = since + policy.monitoring_window
    # Keyed on the start: one suggestion per quiet spell, however long it lasts.
    return Due(MONITORING, due, _key(MONITORING, incident.number, since), 1, since)


def due_reminders(
    incident: Incident, events: Iterable[TimelineEvent], policy: Policy, now: datetime
) -> list[Due]:
    if not incident.is_open:
        return []
    found = [
        ack_due(incident, policy, now),
        update_due(incident, policy, now),
        monitoring_due(incident, events, policy, now),
    ]
    return [d for d in found if d is not None]
