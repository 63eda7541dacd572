"""Creating and finding incidents. Services take their session as an argument, so the same
code runs inside a request, the scheduler or a test."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from incident import timeline
from incident.models import Incident, Status


async def create(
    session: AsyncSession,
    *,
    title: str,
    severity: str,
    reporter_id: str,
    commander_id: str,
    impact: str | None,
    declare_key: str,
    now: datetime,
    service: str | None = None,
    detected_at: datetime | None = None,
    private: bool = False,
) -> Incident | None:
    """Store a new incident with its `declared` event; None when `declare_key` was already
    used (the same Slack delivery arriving again, on this replica or another)."""
    stmt = (
        insert(Incident)
        .values(
            title=title,
            severity=severity,
            status=Status.INVESTIGATING.value,
            impact=impact,
            reporter_id=reporter_id,
            commander_id=commander_id,
            declare_key=declare_key,
            setup={"done": [], "failed": {}},
            declared_at=now,
            service=service,
            detected_at=detected_at,
            private=private,
        )
        .on_conflict_do_nothing(index_elements=["declare_key"])
        .returning(Incident.number)
    )
    number = (await session.execute(stmt)).scalar_one_or_none()
    if number is None:
        return None
    await timeline.record(
        session,
        number,
        "declared",
        at=now,
        actor=reporter_id,
        text=title,
        data={
            "severity": severity,
            "commander": commander_id,
            "impact": impact,
            **({"service": service} if service else {}),
            **({"private": True} if private else {}),
        },
    )
    return await session.get(Incident, number)


# Built once (the most frequent query there is): see timeline.record.
_GET = select(Incident).where(Incident.number == bindparam("number"))
_GET_FOR_UPDATE = _GET.with_for_update()


async def get(session: AsyncSession, number: int, *, for_update: bool = False) -> Incident | None:
    q = _GET_FOR_UPDATE if for_update else _GET
    return (await session.scalars(q, {"number": number})).one_or_none()


async def by_declare_key(session: AsyncSession, key: str) -> Incident | None:
    return (
        await session.scalars(select(Incident).where(Incident.declare_key == key))
    ).one_or_none()


async def by_channel(session: AsyncSession, channel_id: str) -> Incident | None:
    return (
        await session.scalars(select(Incident).where(Incident.channel_id == channel_id))
    ).one_or_none()


async def recent_same_title(
    session: AsyncSession, reporter_id: str, title: str, now: datetime, within: timedelta
) -> Incident | None:
    """A responder who types the same declare twice in a minute means one incident."""
    q = (
        select(Incident)
        .where(
            Incident.reporter_id == reporter_id,
            Incident.title == title,
            Incident.declared_at >= now - within,
        )
        .order_by(Incident.number.desc())
        .limit(1)
    )
    return (await session.scalars(q)).first()


async def open_incidents(session: AsyncSession) -> list[Incident]:
    q = (
        select(Incident)
        .where(Incident.status != Status.RESOLVED.value)
        .order_by(Incident.number.desc())
    )
    return list((await session.scalars(q)).all())


def mark_step(incident: Incident, step: str, *, error: str | None = None) -> None:
    """Keep `setup` honest: a step is listed as done only once Slack confirmed it."""
    setup: dict[str, Any] = {
        **incident.setup,  # other keys (stakeholder posts) are kept
        "done": list(incident.setup.get("done", [])),
        "failed": dict(incident.setup.get("failed", {})),
    }
    if error is None:
        if step not in setup["done"]:
            setup["done"].append(step)
        setup["failed"].pop(step, None)
    else:
        setup["failed"][step] = error
    incident.setup = setup
