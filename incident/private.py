"""Private (security) incidents: who took part, the only people their post-mortem opens to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from incident import event_kinds as K
from incident import timeline
from incident.models import Incident, Participant


async def participants(session: AsyncSession, inc: Incident) -> set[str]:
    """The reporter, the commanders (past and present), whoever was invited or joined."""
    people = {inc.reporter_id, inc.commander_id}
    for event in await timeline.events(session, inc.number, include_withdrawn=True):
        data = event.data or {}
        if event.kind == "setup.invite":
            people |= set(data.get("users") or [])
        elif event.kind == K.COMMANDER:
            people |= {data.get("before"), data.get("after")}
        elif event.kind == K.PARTICIPANT and event.actor:
            people.add(event.actor)
    rows = await session.scalars(
        select(Participant.user_id).where(Participant.incident_number == inc.number)
    )
    people |= set(rows.all())
    return {p for p in people if p}
