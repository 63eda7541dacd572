"""What the public status page shows, and nothing more.

Per incident: the affected service (``other`` when none), an impact level derived from the
severity, the status, when it started and was resolved, and the updates marked public
(`/incident update --public`, or the update form's checkbox). Never the title, impact text,
notes, pins, commanders or any update not marked public; a private incident never appears at
all. Open incidents are grouped by service; resolved ones are listed for the last 30 days.

Pure apart from `load`, which reads Postgres; the web layer renders HTML, Atom and JSON from
`StatusPage` (`bot.web.status_page`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from incident import event_kinds as K
from incident.card import status_label
from incident.models import Incident, TimelineEvent
from incident.stakeholders import public_text

RESOLVED_DAYS = 30
MAX_RESOLVED = 200
MAX_UPDATES = 50  # per incident, newest kept
OTHER = "other"
LEVELS = {
    "SEV1": "Major outage",
    "SEV2": "Partial outage",
    "SEV3": "Degraded performance",
    "SEV4": "Minor issue",
}
# XML 1.0 refuses these even escaped; a pasted control character must not break the feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    return _NOT_XML.sub("", text)


@dataclass(frozen=True)
class Update:
    at: datetime
    text: str  # plain text as written, people left out; escaped by whoever renders it


@dataclass(frozen=True)
class PublicIncident:
    number: int
    service: str
    severity: str
    status: str
    started_at: datetime
    resolved_at: datetime | None
    updates: tuple[Update, ...] = ()  # newest first

    @property
    def level(self) -> str:
        return LEVELS.get(self.severity, "Incident")

    @property
    def status_text(self) -> str:
        return status_label(self.status)

    @property
    def updated_at(self) -> datetime:
        times = [self.started_at, *(u.at for u in self.updates)]
        if self.resolved_at is not None:
            times.append(self.resolved_at)
        return max(times)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.number,
            "service": self.service,
            "severity": self.severity,
            "impact_level": self.level,
            "status": self.status,
            "started_at": _iso(self.started_at),
            "resolved_at": _iso(self.resolved_at) if self.resolved_at else None,
            "updated_at": _iso(self.updated_at),
            "updates": [{"at": _iso(u.at), "text": u.text} for u in self.updates],
        }


@dataclass(frozen=True)
class StatusPage:
    services: tuple[str, ...]  # every catalog service, shown operational when nothing is open
    current: tuple[PublicIncident, ...]
    resolved: tuple[PublicIncident, ...]
    by_service: dict[str, list[PublicIncident]] = field(default_factory=dict)

    @property
    def updated_at(self) -> datetime | None:
        times = [i.updated_at for i in (*self.current, *self.resolved)]
        return max(times) if times else None

    def to_dict(self) -> dict[str, Any]:
        updated = self.updated_at
        return {
            "updated_at": _iso(updated) if updated else None,
            "services": [
                {
                    "name": name,
                    "status": "degraded" if self.by_service.get(name) else "operational",
                    "incidents": [i.number for i in self.by_service.get(name, [])],
                }
                for name in self.service_names
            ],
            "current": [i.to_dict() for i in self.current],
            "resolved": [i.to_dict() for i in self.resolved],
        }

    @property
    def service_names(self) -> list[str]:
        return list(dict.fromkeys([*self.services, *self.by_service]))

    def etag(self) -> str:
        raw = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def build(
    rows: Sequence[tuple[Incident, Sequence[Update]]], services: Sequence[str] = ()
) -> StatusPage:
    """The page from incidents and their public updates; private incidents are dropped here
    too, whatever the caller read."""
    current: list[PublicIncident] = []
    resolved: list[PublicIncident] = []
    for inc, updates in rows:
        if inc.private:
            continue
        item = PublicIncident(
            number=inc.number,
            service=inc.service or OTHER,
            severity=inc.severity,
            status=inc.status,
            started_at=inc.declared_at,
            resolved_at=inc.resolved_at,
            updates=tuple(sorted(updates, key=lambda u: u.at, reverse=True)[:MAX_UPDATES]),
        )
        (resolved if inc.resolved_at is not None else current).append(item)
    current.sort(key=lambda i: (i.started_at, i.number), reverse=True)
    resolved.sort(key=lambda i: (i.resolved_at or i.started_at, i.number), reverse=True)
    by_service: dict[str, list[PublicIncident]] = {}
    for item in current:
        by_service.setdefault(item.service, []).append(item)
    return StatusPage(tuple(services), tuple(current), tuple(resolved), by_service)


async def load(session: AsyncSession, now: datetime, services: Sequence[str] = ()) -> StatusPage:
    """Open incidents and those resolved in the last 30 days, never private ones."""
    since = now - timedelta(days=RESOLVED_DAYS)
    open_rows = await session.scalars(
        select(Incident).where(Incident.private.is_(False), Incident.resolved_at.is_(None))
    )
    done_rows = await session.scalars(
        select(Incident)
        .where(Incident.private.is_(False), Incident.resolved_at >= since)
        .order_by(Incident.resolved_at.desc())
        .limit(MAX_RESOLVED)
    )
    incidents = [*open_rows.all(), *done_rows.all()]
    numbers = [i.number for i in incidents]
    updates: dict[int, list[Update]] = {n: [] for n in numbers}
    if numbers:
        events = await session.execute(
            select(TimelineEvent.incident_number, TimelineEvent.occurred_at, TimelineEvent.text)
            .where(
                TimelineEvent.incident_number.in_(numbers),
                TimelineEvent.kind == K.UPDATE,
                TimelineEvent.withdrawn_at.is_(None),
                TimelineEvent.data["public"].as_boolean().is_(True),
                TimelineEvent.text.is_not(None),
            )
            .order_by(TimelineEvent.occurred_at)
        )
        for number, at, text in events.all():
            updates[number].append(Update(at, clean(public_text(text or ""))))
    return build([(i, updates[i.number]) for i in incidents], services)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")
