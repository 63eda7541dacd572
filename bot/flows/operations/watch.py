"""Every replica looks for rollouts nobody is following any more (their follower was stopped
or crashed, see `leases`) and finishes them: follow to the end, verify health,
post the verdict in the same progress message, record the outcome once."""

from __future__ import annotations

import time

from bot.background import background_task, idle
from bot.flows.operations import leases as rollout_leases
from bot.flows.operations.errors import OpsError
from bot.flows.operations.execute import LOCK_TTL_S, lock_key
from bot.flows.operations.follow import Follow, ProgressMessage, finish
from bot.flows.operations.plan import api_for
from bot.flows.operations.request import Outcome, Request
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui import operations as ui
from incident.models import RolloutFollow

log = get_logger(__name__)

INTERVAL_S = 2.0


@background_task("rollout_watch", stops_at_idle=True)
async def run(services: Services) -> None:
    while True:
        try:
            while await tick(services):
                pass
        except Exception as exc:  # Postgres down: the next round tries again
            log.warning("rollout watch failed", error_type=type(exc).__name__)
        await idle(INTERVAL_S)


SKIP_S = 60.0  # how long a replica that cannot reach a follow's cluster leaves it to others


def _skipped(services: Services) -> dict[str, float]:
    """Follows this replica could not take up (no credentials for that cluster, say)."""
    skipped = services.caches.rollout_skips
    now = time.monotonic()
    for request_id in [r for r, until in skipped.items() if until < now]:
        del skipped[request_id]
    return skipped


async def tick(services: Services) -> bool:
    """Resume one orphaned follow; False when there was none."""
    skipped = _skipped(services)
    row = await rollout_leases.claim_one(services, skip=set(skipped))
    if row is None:
        return False
    await resume(services, row)
    return True


async def resume(services: Services, row: RolloutFollow) -> Outcome | None:
    lease = rollout_leases.Lease(row.request_id)
    try:
        req = Request.from_dict(row.request["value"])
    except (OpsError, KeyError, TypeError) as exc:
        log.error("rollout follow unreadable", request_id=row.request_id, error=str(exc))
        async with services.transaction() as session:
            await rollout_leases.mark_finished(session, row.request_id, services.clock.now())
        return None
    log.info(
        "resuming rollout follow",
        incident=row.incident_number,
        request_id=row.request_id,
        target=req.target,
        resumed=row.resumed,
    )
    try:
        api = api_for(services, req.cluster)
    except Exception as exc:  # this replica cannot reach that cluster: leave it to another
        log.warning(
            "cannot resume rollout follow here",
            request_id=row.request_id,
            error_type=type(exc).__name__,
        )
        _skipped(services)[row.request_id] = time.monotonic() + SKIP_S
        await rollout_leases.hand_back(services, lease)
        return None
    board = ProgressMessage(
        services, row.channel_id, str(row.request.get("head") or f"🔧 {req.target}")
    )
    board.ts = row.progress_ts
    await board.show(ui.resumed_line(req.target))
    # The deploy lock keeps others off while we watch; a crashed holder's lock may still be
    # there until it expires, and following is read-only, so go on without it then.
    held = None
    try:
        held, _ = await services.locks.acquire(
            lock_key(req.target), LOCK_TTL_S, user=row.actor, action=req.action
        )
    except Exception:
        held = None
    try:
        follow = Follow(row.incident_number, req, row.actor, dict(row.audit), api, board)
        return await finish(services, follow, lease)
    finally:
        if held is not None:
            await services.locks.release(held)
