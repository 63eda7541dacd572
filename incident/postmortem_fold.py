"""The single pass over an incident's timeline that the post-mortem is built from: who did
what, when the status and severity moved, which notes name a cause. One pass, no second
query per kind, so a 10,000-event timeline folds in milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incident import event_kinds as K
from incident.models import Status
from incident.postmortem_entries import Entry, approvers, describe, is_hidden

MITIGATED_STATUSES = frozenset({Status.MITIGATING.value, Status.MONITORING.value})
# What a person's events count as, in "who did what".
CONTRIBUTIONS: dict[str, str] = {
    K.DECLARED: "declared",
    K.ACKNOWLEDGED: "acknowledged",
    K.UPDATE: "updates",
    K.STATUS: "status changes",
    K.SEVERITY: "severity changes",
    K.COMMANDER: "commander changes",
    K.IMPACT: "impact changes",
    K.NOTE: "notes",
    K.PINNED: "pinned messages",
    K.CHECK: "checks",
    K.ACTION: "actions",
    K.ACTION_ITEM: "action items",
    K.ESCALATION: "escalations",
    K.PAGE: "pages",
    K.RESOLVED: "resolved",
}


@dataclass(frozen=True, slots=True)
class Change:
    at: datetime
    actor: str | None
    before: str | None
    after: str | None


@dataclass(slots=True)
class Person:
    user_id: str
    roles: list[str] = field(default_factory=list)
    contributions: dict[str, int] = field(default_factory=dict)
    first_seen: datetime | None = None


@dataclass(slots=True)
class Fold:
    """Everything gathered in the single pass over the events."""

    initial_severity: str | None = None
    first_ack: datetime | None = None
    first_page: datetime | None = None  # TTA counts from it (incident.escalation)
    first_mitigated: datetime | None = None
    last_resolved: datetime | None = None
    resolved_text: str | None = None
    status: str = Status.INVESTIGATING.value
    status_history: list[tuple[datetime, str]] = field(default_factory=list)
    severity_changes: list[Change] = field(default_factory=list)
    commander_changes: list[Change] = field(default_factory=list)
    update_times: list[datetime] = field(default_factory=list)
    causes: list[tuple[datetime, str | None, str]] = field(default_factory=list)
    troubled_actions: int = 0
    people: dict[str, Person] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    count: int = 0

    def person(self, user: str, at: datetime | None) -> Person:
        p = self.people.get(user)
        if p is None:
            p = self.people[user] = Person(user, first_seen=at)
        elif at is not None and (p.first_seen is None or at < p.first_seen):
            p.first_seen = at
        return p

    def credit(self, user: str, label: str, at: datetime) -> None:
        c = self.person(user, at).contributions
        c[label] = c.get(label, 0) + 1

    def set_status(self, status: str, at: datetime) -> None:
        if status == self.status:
            return
        self.status = status
        self.status_history.append((at, status))
        if status in MITIGATED_STATUSES and self.first_mitigated is None:
            self.first_mitigated = at

    def add(
        self, at: datetime, actor: str | None, kind: str, text: str | None, data: dict[str, Any]
    ) -> None:
        self.count += 1
        if kind == K.PARTICIPANT:
            if actor:
                self.person(actor, at)
        elif actor and not is_hidden(kind):
            self.credit(actor, CONTRIBUTIONS.get(kind, kind), at)
        if kind == K.DECLARED:
            self.initial_severity = self.initial_severity or data.get("severity")
        elif kind == K.ACKNOWLEDGED:
            self.first_ack = self.first_ack or at
        elif kind == K.PAGE:
            self.first_page = min(self.first_page or at, at)
        elif kind == K.UPDATE:
            self.update_times.append(at)
            if data.get("status"):
                self.set_status(str(data["status"]), at)
        elif kind == K.STATUS:
            if data.get("after"):
                self.set_status(str(data["after"]), at)
        elif kind == K.SEVERITY:
            self.severity_changes.append(Change(at, actor, data.get("before"), data.get("after")))
        elif kind == K.COMMANDER:
            self.commander_changes.append(Change(at, actor, data.get("before"), data.get("after")))
            if data.get("after"):
                self.person(str(data["after"]), at)
        elif kind == K.NOTE:
            if data.get("cause_candidate"):
                self.causes.append((at, actor, text or ""))
        elif kind == K.RESOLVED:
            self.last_resolved, self.resolved_text = at, text
            self.set_status(Status.RESOLVED.value, at)
        elif kind == K.ACTION:
            for user in approvers(data):
                self.credit(user, "approvals", at)
            outcome = str(data.get("outcome") or "").lower()
            if data.get("refused_reason") or outcome in ("failed", "error", "refused"):
                self.troubled_actions += 1
        if not is_hidden(kind):
            self.entries.append(Entry(at, kind, actor, describe(kind, text, data), data))
