"""The Confirm press: decide, lock, read the cluster again, apply, then hand over to `follow`.

Who may confirm is decided once (`policy.decide`) and that decision travels with the change
into the timeline. Nothing reaches the cluster without the Deployment's Redis lock, and
nothing is applied if the Deployment moved since the plan was shown.
"""

from __future__ import annotations

from typing import Any

from bot.adapters import kube as kube_ops
from bot.adapters.locks import LockUnavailable
from bot.flows.operations import audit, leases, plan, policy
from bot.flows.operations.errors import AlreadyDone, OpsError
from bot.flows.operations.follow import Follow, ProgressMessage, finish
from bot.flows.operations.policy import Decision
from bot.flows.operations.request import Outcome, Request
from bot.services import Services
from bot.slack.ui import operations as ui
from incident import event_kinds, registry
from incident.models import Incident

LOCK_TTL_S = 15 * 60


def lock_key(target: str) -> str:
    return f"deploy:{target}"


async def _load_incident(services: Services, number: int) -> Incident | None:
    async with services.sessions() as session:
        return await registry.get(session, number)


async def _refuse_if_confirmed(services: Services, number: int, req: Request) -> None:
    earlier = await audit.earlier_run(services, number, req.nonce)
    if earlier is not None:
        raise AlreadyDone(
            f"This {req.action} of {req.target} was already confirmed by "
            f"<@{earlier.actor}> (outcome: {(earlier.data or {}).get('outcome')}); "
            "nothing more was done."
        )


async def execute(services: Services, req: Request, user: str) -> Outcome:
    inc = await _load_incident(services, req.incident)
    if inc is None:
        return Outcome(False, f"Incident #{req.incident} no longer exists; nothing was done.")
    decision = await policy.decide(services, inc, user, req)
    if not decision.allowed:
        await audit.refused(
            services, inc.number, decision, {"before": req.before, "after": req.after}
        )
        reason = decision.reason.rstrip(".")
        return Outcome(False, f"⛔ You are not allowed to {req.what}: {reason}.")

    try:  # cheap, before the lock: a late double click need not queue behind the rollout
        await _refuse_if_confirmed(services, inc.number, req)
    except AlreadyDone as exc:
        return Outcome(False, f"ℹ️ {exc}")
    dry_run = policy.dry_run(services)
    try:
        held, holder = await services.locks.acquire(
            lock_key(req.target), LOCK_TTL_S, user=user, action=req.action
        )
    except LockUnavailable:
        return Outcome(
            False, "⚠️ Cannot take the deploy lock (Redis unreachable); nothing was done."
        )
    if held is None:
        return Outcome(False, _in_progress(req, holder, user))
    try:
        return await _locked(services, inc, req, decision, dry_run)
    finally:
        await services.locks.release(held)


def _in_progress(req: Request, holder: dict[str, Any], user: str) -> str:
    """Who holds the deploy lock, in words: "you" when it is the presser's own earlier press
    (a double click), so nobody hunts for a colleague who is not there. The mention stays:
    it is how a reader (and the reliability checks) tell whose press holds the lock."""
    by = holder.get("user")
    who = (
        "" if not by else (f", started by you (<@{by}>)" if by == user else f", started by <@{by}>")
    )
    action = holder.get("action") or req.action
    return f"⏳ {action} of {req.target} already in progress{who}; nothing was done."


def _already_there(planned: Request, now: Request) -> bool:
    """Whether the Deployment already is what the plan wanted (a Confirm pressed again after
    the rollout): the same images for a rollback, the same replicas for a scale."""
    if planned.action == "rollback":
        return bool(planned.after.get("images")) and (
            now.before.get("images") == planned.after.get("images")
        )
    if planned.action == "scale":
        return now.before.get("replicas") == planned.after.get("replicas")
    return False


def _state(after: dict[str, Any]) -> str:
    if "images" in after:
        return ui.images_text(after["images"])
    if "replicas" in after:
        return f"{after['replicas']} replicas"
    return "as planned"


async def _reread(services: Services, number: int, req: Request) -> plan.Planned:
    """The plan again, as the cluster stands now; refused when it moved since it was shown."""
    where = plan.Located(req.cluster, req.namespace, req.deployment)
    try:
        fresh = await plan.read(services, req.action, where, number, req.args)
    except kube_ops.NothingToChange as exc:
        raise AlreadyDone(f"Already done: {exc}; nothing was done.") from exc
    if req.action != "restart" and (
        fresh.request.before != req.before or fresh.request.after != req.after
    ):
        if _already_there(req, fresh.request):
            raise AlreadyDone(
                f"{req.target} is already in the planned state "
                f"({_state(req.after)}); nothing was done."
            )
        raise OpsError(
            f"{req.target} changed since this was planned (now: {fresh.text}); "
            "nothing was done. Run the command again."
        )
    return fresh


async def _locked(
    services: Services, inc: Incident, req: Request, decision: Decision, dry_run: bool
) -> Outcome:
    user = decision.user
    data = audit.action_data(req) | {
        "actor": user,
        "approved_by": user,
        "dry_run": dry_run,
        "rule": decision.rule,
        "decision": decision.audit(),
    }
    board: ProgressMessage | None = None
    try:
        api = plan.api_for(services, req.cluster)
        await _refuse_if_confirmed(services, inc.number, req)
        fresh = await _reread(services, inc.number, req)
        if dry_run:
            data["outcome"] = "dry_run"
            await audit.record(
                services,
                inc.number,
                event_kinds.ACTION,
                actor=user,
                text=f"dry run: {req.what}",
                data=data,
            )
            return Outcome(True, f"🧪 Dry run, nothing changed. Would have done:\n{fresh.text}")
        board = ProgressMessage(services, inc.channel_id, ui.progress_head(user, fresh.text))
        await board.start()
        result = await kube_ops.in_thread(_apply_sync, api, req.action, fresh.plan)
    except AlreadyDone as exc:  # a second Confirm of a done change: no new action to audit
        return Outcome(False, f"ℹ️ {exc}")
    except kube_ops.KubeError as exc:
        return await _failed(services, inc.number, req, data, board, exc)
    except OpsError as exc:
        data["outcome"] = "refused"
        data["refused_reason"] = str(exc)
        await audit.record(
            services,
            inc.number,
            event_kinds.ACTION,
            actor=user,
            text=f"{req.what} failed: {exc}",
            data=data,
        )
        return Outcome(False, f"⚠️ {exc}")

    data["after"] = req.after | {"images": result.images, "replicas": result.replicas}
    data["request_id"] = req.nonce
    lease = await leases.start(
        services,
        req.nonce,
        inc.number,
        {"value": req.to_dict(), "head": board.head},
        data,
        actor=user,
        channel_id=inc.channel_id,
        progress_ts=board.ts,
    )
    return await finish(services, Follow(inc.number, req, user, data, api, board), lease)


async def _failed(
    services: Services,
    number: int,
    req: Request,
    data: dict[str, Any],
    board: ProgressMessage | None,
    exc: Exception,
) -> Outcome:
    """The API failed after Confirm: a failure, not a refusal. The "started" message (when
    it was posted) is edited to say so, so the channel does not read it as still running."""
    text = ui.failed_text(req.action, req.target, str(exc))
    if board is not None:
        await board.show(text)
    data["outcome"] = "failed"
    data["failed_reason"] = str(exc)
    await audit.record(
        services,
        number,
        event_kinds.ACTION,
        actor=data["actor"],
        text=f"{req.action} of {req.target} failed: {exc}",
        data=data,
    )
    return Outcome(False, text)


def _apply_sync(api: Any, action: str, planned: Any) -> Any:
    if action == "rollback":
        return kube_ops.apply_rollback(api, planned)
    if action == "scale":
        return kube_ops.apply_scale(api, planned)
    return kube_ops.apply_restart(api, planned)
