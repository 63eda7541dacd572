"""Across incidents: the post-mortem list and mean time to acknowledge / resolve per severity
over time. Aggregated in Postgres, so the list page costs the same for ten incidents or ten
thousand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from incident.escalation import time_to_acknowledge
from incident.models import Incident, Page, PostmortemRecord

Unit = Literal["day", "week", "month"]


@dataclass(frozen=True, slots=True)
class Filters:
    severity: str | None = None
    since: datetime | None = None  # declared at or after
    until: datetime | None = None  # declared before


@dataclass(frozen=True, slots=True)
class IncidentRow:
    number: int
    title: str
    severity: str
    status: str
    declared_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    review_due_at: datetime | None
    first_page_at: datetime | None = None  # the first page before the acknowledgement

    @property
    def tta(self) -> timedelta | None:
        """From the first page when there was one, else from the declaration."""
        return time_to_acknowledge(self.declared_at, self.acknowledged_at, self.first_page_at)

    @property
    def ttr(self) -> timedelta | None:
        return self.resolved_at - self.declared_at if self.resolved_at else None


@dataclass(frozen=True, slots=True)
class TrendPoint:
    bucket: datetime
    severity: str
    mtta: timedelta | None
    mttr: timedelta | None
    count: int


def _first_page() -> Any:
    """The incident's first page sent before it was acknowledged (TTA counts from it)."""
    it = Incident.__table__
    return (
        select(func.min(Page.paged_at))
        .where(Page.incident_number == it.c.number, Page.paged_at <= it.c.acknowledged_at)
        .scalar_subquery()
    )


def _filtered(q: Select, f: Filters) -> Select:
    it = Incident.__table__
    q = q.where(it.c.private.is_(False))  # a private incident is never listed nor counted
    if f.severity:
        q = q.where(it.c.severity == f.severity)
    if f.since:
        q = q.where(it.c.declared_at >= f.since)
    if f.until:
        q = q.where(it.c.declared_at < f.until)
    return q


async def list_incidents(
    session: AsyncSession, f: Filters, *, limit: int = 500
) -> list[IncidentRow]:
    it, pm = Incident.__table__, PostmortemRecord.__table__
    q = (
        select(
            it.c.number,
            it.c.title,
            it.c.severity,
            it.c.status,
            it.c.declared_at,
            it.c.acknowledged_at,
            it.c.resolved_at,
            pm.c.review_due_at,
            _first_page(),
        )
        .select_from(it.outerjoin(pm, pm.c.incident_number == it.c.number))
        .order_by(it.c.declared_at.desc(), it.c.number.desc())
        .limit(limit)
    )
    return [IncidentRow(*row) for row in await session.execute(_filtered(q, f))]


def bucket_unit(since: datetime | None, until: datetime | None) -> Unit:
    """About a dozen to a few dozen points whatever the range."""
    if since is None:
        return "month"
    span = (until or datetime.now(UTC)) - since
    if span <= timedelta(days=45):
        return "day"
    if span <= timedelta(days=366):
        return "week"
    return "month"


async def trend(session: AsyncSession, f: Filters, unit: Unit) -> list[TrendPoint]:
    it = Incident.__table__
    bucket = func.date_trunc(unit, func.timezone("UTC", it.c.declared_at)).label("bucket")
    q = (
        select(
            bucket,
            it.c.severity,
            func.avg(
                extract(
                    "epoch", it.c.acknowledged_at - func.coalesce(_first_page(), it.c.declared_at)
                )
            ),
            func.avg(extract("epoch", it.c.resolved_at - it.c.declared_at)),
            func.count(),
        )
        .group_by(bucket, it.c.severity)
        .order_by(bucket, it.c.severity)
    )
    out: list[TrendPoint] = []
    for b, sev, tta, ttr, n in await session.execute(_filtered(q, f)):
        out.append(
            TrendPoint(
                b.replace(tzinfo=UTC),
                sev,
                timedelta(seconds=float(tta)) if tta is not None else None,
                timedelta(seconds=float(ttr)) if ttr is not None else None,
                n,
            )
        )
    return out
