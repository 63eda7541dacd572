"""The timeline: every change to an incident, with actor and UTC time, recorded once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from incident.models import Incident, TimelineEvent


async def record(
    session: AsyncSession,
    incident_number: int,
    kind: str,
    *,
    at: datetime,
    actor: str | None = None,
    text: str | None = None,
    data: dict[str, Any] | None = None,
    key: str | None = None,
) -> bool:
    """Add an event; False when an event with the same key is already stored (a redelivery)."""
    params = {
        "incident_number": incident_number,
        "kind": kind,
        "occurred_at": at,
        "actor": actor,
        "text": text,
        "data": data or {},
        "dedupe_key": key,
    }
    return (await session.execute(_RECORD, params)).scalar_one_or_none() is not None


# Built once: every change to every incident goes through here, and building the statement
# anew each time cost more than sending it.
_RECORD = (
    insert(TimelineEvent)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(TimelineEvent.id)
)


async def events(
    session: AsyncSession,
    incident_number: int,
    *,
    kinds: tuple[str, ...] | None = None,
    include_withdrawn: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[TimelineEvent]:
    q = select(TimelineEvent).where(TimelineEvent.incident_number == incident_number)
    if kinds:
        q = q.where(TimelineEvent.kind.in_(kinds))
    if not include_withdrawn:
        q = q.where(TimelineEvent.withdrawn_at.is_(None))
    q = q.order_by(TimelineEvent.occurred_at, TimelineEvent.id).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return list((await session.scalars(q)).all())


class EvidencePreserved(Exception):
    """A private (security) incident's timeline is evidence: nothing on it is withdrawn,
    trimmed or deleted. The message is written for the person who tried."""


def refuse_trim(incident: Incident) -> None:
    """Call before withdrawing or deleting any event of `incident`."""
    if incident.private:
        raise EvidencePreserved(
            f"Incident #{incident.number} is a private security incident: its timeline is "
            "preserved as evidence, so nothing is removed from it."
        )
