"""Who is following which rollout: a row per applied change with a short lease.

The follower renews its lease while it watches; when it stops (SIGTERM hands the lease back
at once, a crash lets it lapse), `bot.rollout_watch` on any replica claims the row and
finishes the job. Postgres alone decides, so a Redis outage cannot lose a follow.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from bot.logging_setup import get_logger
from bot.services import Services
from incident.models import RolloutFollow

log = get_logger(__name__)

LEASE_S = 15.0
RENEW_S = 5.0
MAX_AGE = timedelta(hours=1)  # older unfinished follows are not resumed
OWNER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Lease:
    request_id: str
    owner: str = OWNER


async def start(
    services: Services,
    request_id: str,
    incident_number: int,
    request: dict[str, Any],
    audit: dict[str, Any],
    *,
    actor: str,
    channel_id: str | None,
    progress_ts: str | None,
) -> Lease | None:
    """Store the follow before watching; None when Postgres refused (the watch goes on,
    it just cannot be resumed elsewhere)."""
    now = services.clock.now()
    try:
        async with services.transaction() as session:
            session.add(
                RolloutFollow(
                    request_id=request_id,
                    incident_number=incident_number,
                    request=request,
                    audit=audit,
                    actor=actor,
                    channel_id=channel_id,
                    progress_ts=progress_ts,
                    started_at=now,
                    lease_owner=OWNER,
                    lease_until=now + timedelta(seconds=LEASE_S),
                    resumed=0,
                )
            )
    except Exception as exc:
        log.warning("rollout follow not stored", error_type=type(exc).__name__)
        return None
    return Lease(request_id)


async def renew(services: Services, lease: Lease) -> bool:
    """False when the lease was lost (another replica took over): stop following."""
    now = services.clock.now()
    async with services.transaction() as session:
        result = await session.execute(
            update(RolloutFollow)
            .where(
                RolloutFollow.request_id == lease.request_id,
                RolloutFollow.lease_owner == lease.owner,
                RolloutFollow.finished_at.is_(None),
            )
            .values(lease_until=now + timedelta(seconds=LEASE_S))
        )
        return bool(result.rowcount)


async def keep_alive(services: Services, lease: Lease) -> None:
    while True:
        await asyncio.sleep(RENEW_S)
        try:
            if not await renew(services, lease):
                log.warning("rollout lease lost", request_id=lease.request_id)
                return
        except Exception as exc:  # Postgres blip: the next renewal may work
            log.warning("rollout lease renewal failed", error_type=type(exc).__name__)


async def hand_back(services: Services, lease: Lease) -> None:
    """On shutdown: let another replica take over now rather than after the lease lapses."""
    try:
        async with services.transaction() as session:
            await session.execute(
                update(RolloutFollow)
                .where(
                    RolloutFollow.request_id == lease.request_id,
                    RolloutFollow.lease_owner == lease.owner,
                )
                .values(lease_owner=None, lease_until=None)
            )
    except Exception as exc:
        log.warning("rollout lease not handed back", error_type=type(exc).__name__)


async def claim_one(services: Services, skip: Collection[str] = ()) -> RolloutFollow | None:
    """Take over the oldest unfinished follow nobody holds (except those in ``skip``); None
    when there is none."""
    now = services.clock.now()
    async with services.transaction() as session:
        row = (
            await session.execute(
                select(RolloutFollow)
                .where(
                    RolloutFollow.finished_at.is_(None),
                    RolloutFollow.started_at > now - MAX_AGE,
                    or_(RolloutFollow.lease_until.is_(None), RolloutFollow.lease_until < now),
                    RolloutFollow.request_id.not_in(list(skip)),
                )
                .order_by(RolloutFollow.started_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        row.lease_owner = OWNER
        row.lease_until = now + timedelta(seconds=LEASE_S)
        row.resumed += 1
        await session.flush()
        session.expunge(row)
        return row


async def mark_finished(session: Any, request_id: str, at: Any) -> None:
    await session.execute(
        update(RolloutFollow)
        .where(RolloutFollow.request_id == request_id)
        .values(finished_at=at, lease_until=None)
    )
