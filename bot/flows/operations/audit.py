"""The timeline side of an operation: every refusal and every outcome is recorded with the
decision that let it through or stopped it, and a failed write never hides what happened in
the cluster (it is logged instead)."""

from __future__ import annotations

from typing import Any

from bot.flows.operations.policy import Decision
from bot.flows.operations.request import Request
from bot.logging_setup import get_logger
from bot.services import Services
from incident import event_kinds, timeline
from incident.models import TimelineEvent

log = get_logger(__name__)


async def record(
    services: Services,
    number: int,
    kind: str,
    *,
    actor: str,
    text: str,
    data: dict[str, Any],
    key: str | None = None,
) -> None:
    try:
        async with services.transaction() as session:
            await timeline.record(
                session,
                number,
                kind,
                at=services.clock.now(),
                actor=actor,
                text=text,
                data=data,
                key=key,
            )
    except Exception as exc:  # the audit must not hide what happened in the cluster
        log.error("timeline record failed", incident=number, kind=kind, error=str(exc))


def action_data(req: Request) -> dict[str, Any]:
    return {"action": req.action, "target": req.target, "before": req.before, "after": req.after}


async def refused(
    services: Services, number: int, decision: Decision, extra: dict[str, Any] | None = None
) -> None:
    """A `denied` event naming who, what, and the rule that refused."""
    await record(
        services,
        number,
        event_kinds.DENIED,
        actor=decision.user,
        text=f"refused {decision.what}",
        data={
            "what": decision.what,
            "reason": decision.reason,
            **(extra or {}),
            "action": decision.action,
            "target": decision.target,
            "rule": decision.rule,
            "decision": decision.audit(),
        },
    )


async def earlier_run(services: Services, number: int, nonce: str) -> TimelineEvent | None:
    """The timeline event of an earlier Confirm of this very plan that reached the cluster.

    Kept in Postgres, so a restart (which a Redis `once` might not survive) still refuses a
    second restart from the same button."""
    async with services.sessions() as session:
        for event in await timeline.events(session, number, kinds=(event_kinds.ACTION,)):
            if (event.data or {}).get("request_id") == nonce:
                return event
    return None
