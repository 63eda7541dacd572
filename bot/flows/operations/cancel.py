"""The Cancel press: say what actually happened to this plan, which is not always "nothing".

Cancel and Confirm carry the same plan, and Cancel can be pressed after a Confirm (the
ephemeral with both buttons can be seen twice, or pressed late). Telling people "no rollback
was made" when it was would send them the wrong way mid-incident, so the timeline (the
outcome) and the rollout follows (a change still rolling out) are asked first.
"""

from __future__ import annotations

from bot.flows.operations import audit
from bot.flows.operations.request import Request
from bot.services import Services
from incident.models import RolloutFollow


def _undo_hint(req: Request) -> str:
    if req.action == "scale" and "replicas" in req.before:
        return f"scale it back to {req.before['replicas']} to undo"
    return "use Rollback to undo"


async def cancel_text(services: Services, req: Request) -> str:
    """What the Cancel press is answered: the change's fate when it was already confirmed."""
    earlier = await audit.earlier_run(services, req.incident, req.nonce)
    if earlier is not None:
        outcome = (earlier.data or {}).get("outcome")
        return (
            f"ℹ️ Too late to cancel: this {req.action} of {req.target} was already confirmed by "
            f"<@{earlier.actor}> (outcome: {outcome}); {_undo_hint(req)}."
        )
    async with services.sessions() as session:
        running = await session.get(RolloutFollow, req.nonce)
    if running is not None:
        return (
            f"ℹ️ Too late to cancel: this {req.action} of {req.target} was already confirmed by "
            f"<@{running.actor}> and is rolling out; {_undo_hint(req)} once it ends."
        )
    return f"Cancelled: no {req.action} of {req.target} was made."
