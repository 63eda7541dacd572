"""What Postgres keeps of alerts (incident.models.AlertRecord) and the per-service lock that
makes the declare-or-attach decision once, across replicas."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import Services
from incident import event_kinds as K
from incident import timeline
from incident.alerts import FIRING, RESOLVED, SENTRY, Alert, bounded
from incident.models import AlertRecord, Incident

# Longer than this waiting for another request about the same service: answer 503 and let
# Alertmanager retry (its webhook timeout is 10 s).
LOCK_WAIT = "7s"
LOCK_WAIT_S = 7.0
_POLL_FIRST_S, _POLL_MAX_S = 0.01, 0.1


class ServiceBusy(Exception):
    """Another request held the service's lock longer than LOCK_WAIT_S: nothing was done."""


def _lock_name(service: str | None) -> str:
    return f"warroom:alerts:{service or '-'}"


@asynccontextmanager
async def locked_transaction(
    services: Services, service: str | None
) -> AsyncIterator[AsyncSession]:
    """A transaction holding the service's advisory lock (as `lock_service`), but waiting for
    it WITHOUT a database connection: a try-lock, and while another request holds it, the
    connection goes back to the pool and the try is made again shortly. A burst of requests
    waiting for a few services so cannot starve the pool (and the Slack set-ups that need it).
    Raises ServiceBusy past LOCK_WAIT_S."""
    deadline = time.monotonic() + LOCK_WAIT_S
    pause = _POLL_FIRST_S
    name = _lock_name(service)
    while True:
        async with services.transaction() as session:
            await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
            got = await session.scalar(select(func.pg_try_advisory_xact_lock(func.hashtext(name))))
            if got:
                yield session
                return
        if time.monotonic() + pause > deadline:
            raise ServiceBusy(service or "-")
        await asyncio.sleep(pause)
        pause = min(pause * 2, _POLL_MAX_S)


async def lock_service(session: AsyncSession, service: str | None) -> None:
    """A transaction-scoped Postgres advisory lock per service: two replicas (or two
    notifications) about one service decide one after the other. Released at commit or
    rollback, and with the connection if the process dies."""
    await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(_lock_name(service)))))


async def known(session: AsyncSession, alerts: list[Alert]) -> dict[str, AlertRecord]:
    """The rows already stored for these alerts, by occurrence key, locked: one query for a
    whole notification (a redelivery finds them all)."""
    keys = sorted({a.occurrence_key for a in alerts})
    q = select(AlertRecord).where(AlertRecord.alert_key.in_(keys)).with_for_update()
    return {row.alert_key: row for row in (await session.scalars(q)).all()}


async def sentry_occurrences(session: AsyncSession, alerts: list[Alert]) -> list[Alert | None]:
    """Which occurrence each Sentry alert is about, read under the service's lock: an issue's
    alerts are keyed by its id, and a reopened issue (`Alert.reopens`) whose latest
    occurrence resolved is a new one, `sentry:<id>:<n>`, so it fires, goes on the timeline
    and counts on the card again, and its resolution asks the commander again, as a new
    Alertmanager firing does. A `resolved` for an issue never stored is None: nothing to
    resolve (Sentry sends issue webhooks for every issue, not only alerted ones). Other
    alerts are returned as they are."""
    ids = {a.fingerprint for a in alerts if a.source == SENTRY}
    if not ids:
        return list(alerts)
    q = (
        select(AlertRecord)
        .where(AlertRecord.source == SENTRY, AlertRecord.fingerprint.in_(sorted(ids)))
        .order_by(AlertRecord.id)
    )
    seen: dict[str, list[AlertRecord]] = {}
    for row in (await session.scalars(q)).all():
        seen.setdefault(row.fingerprint, []).append(row)
    out: list[Alert | None] = []
    for alert in alerts:
        rows = seen.get(alert.fingerprint) if alert.source == SENTRY else None
        if not rows:
            out.append(None if alert.source == SENTRY and not alert.firing else alert)
            continue
        latest, n = rows[-1], len(rows) - 1
        if alert.reopens and latest.status == RESOLVED:
            # the new occurrence keeps the name its alert rule gave the issue
            out.append(replace(alert, occurrence=n + 1, name=latest.name))
        else:
            out.append(replace(alert, occurrence=n))
    return out


async def record(
    session: AsyncSession,
    alert: Alert,
    service: str | None,
    now: datetime,
    stored: AlertRecord | None = None,
) -> tuple[AlertRecord, bool]:
    """The alert's row and whether this delivery changed it (new, or firing → resolved).
    A repeat, or a stale `firing` arriving after the resolution, changes nothing. `stored`:
    its row when the caller read it already (`known`, under the same lock)."""
    if stored is None:
        stmt = (
            insert(AlertRecord)
            .values(
                alert_key=alert.occurrence_key,
                source=alert.source,
                fingerprint=alert.fingerprint,
                status=alert.status,
                name=alert.name,
                summary=alert.summary,
                service=service,
                labels=alert.labels,
                generator_url=alert.generator_url,
                starts_at=alert.starts_at,
                ends_at=alert.ends_at,
                received_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["alert_key"])
            .returning(AlertRecord)
        )
        new = (await session.scalars(stmt)).one_or_none()
        if new is not None:
            return new, True
        q = select(AlertRecord).where(AlertRecord.alert_key == alert.occurrence_key)
        stored = (await session.scalars(q.with_for_update())).one()
    row = stored
    if row.status == alert.status or alert.status == FIRING:
        return row, False
    row.status = RESOLVED
    # Sentry's issue webhook gives no end time: it ended when Sentry said so
    row.ends_at = alert.ends_at or (now if alert.source == SENTRY else None)
    row.updated_at = now
    return row, True


async def open_incident(session: AsyncSession, service: str | None) -> Incident | None:
    if not service:
        return None
    q = (
        select(Incident)
        .where(Incident.service == service, Incident.resolved_at.is_(None))
        .order_by(Incident.number.desc())
        .limit(1)
    )
    return (await session.scalars(q)).first()


def event_text(row: AlertRecord) -> str:
    what = "firing" if row.status == FIRING else "resolved"
    summary = f": {row.summary}" if row.summary and row.summary != row.name else ""
    return f"Alert {row.name} {what}{summary}"


def event_data(row: AlertRecord) -> dict[str, Any]:
    """`alert` events' data (incident.event_kinds.ALERT), from the stored row."""
    return {
        "source": row.source,
        "name": row.name,
        "status": row.status,
        "summary": row.summary,
        "labels": row.labels,
        "generator_url": row.generator_url,
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat() if row.ends_at else None,
        "fingerprint": row.fingerprint,
    }


def event_key(row: AlertRecord) -> str:
    return bounded(f"alert:{row.alert_key}:{row.status}")


async def attach(
    session: AsyncSession, row: AlertRecord, number: int, *, actor: str, now: datetime
) -> bool:
    """The alert on the incident's timeline, once per state; False when already there."""
    row.incident_number = number
    return await timeline.record(
        session,
        number,
        K.ALERT,
        at=now,
        actor=actor,
        text=event_text(row),
        data=event_data(row),
        key=event_key(row),
    )


async def incident_alerts(session: AsyncSession, number: int) -> list[AlertRecord]:
    q = (
        select(AlertRecord)
        .where(AlertRecord.incident_number == number)
        .order_by(AlertRecord.starts_at, AlertRecord.id)
    )
    return list((await session.scalars(q)).all())


async def claim_all_resolved(session: AsyncSession, number: int, *, now: datetime) -> int | None:
    """When no alert of the incident is firing any more: the number of its alerts, the first
    time this state is reached with that many (the commander is asked once); else None."""
    rows = await incident_alerts(session, number)
    if not rows or any(r.status == FIRING for r in rows):
        return None
    claimed = await timeline.record(
        session,
        number,
        K.ALERTS_RESOLVED,
        at=now,
        data={"count": len(rows)},
        key=f"alerts_resolved:{number}:{len(rows)}",
    )
    return len(rows) if claimed else None
