"""Runbook operations from Slack: plan, confirm, authorise, lock, apply, follow, verify, audit.

Every change is shown before it is made (an ephemeral with Confirm/Cancel), applied only by an
authorised person holding the Redis lock for that Deployment, followed to the end of its
rollout with progress in the incident channel, checked against the catalog's health URL, and
recorded on the timeline whatever the outcome.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import kube_ops
from bot.catalog import Catalog, Service, load_catalog
from bot.locks import LockUnavailable
from bot.logging_setup import get_logger
from bot.services import Services
from incident import event_kinds, timeline
from incident.models import Incident

log = get_logger(__name__)

ACTIONS = ("rollback", "scale", "restart")
LOCK_TTL_S = 15 * 60
ROLLOUT_TIMEOUT_S = 300.0
ROLLOUT_POLL_S = 0.5


class OpsSettings(BaseSettings):
    """Read from the environment each time it is needed (cheap, and tests can override)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    catalog_file: Path | None = Field(default=None, validation_alias="CATALOG_FILE")
    kubeconfig: str | None = Field(default=None, validation_alias="KUBECONFIG")
    allowed_users: str = Field(default="", validation_alias="WARROOM_OPS_ALLOWED_USERS")
    dry_run: bool = Field(default=False, validation_alias="WARROOM_OPS_DRY_RUN")
    max_replicas: int = Field(default=50, ge=0, validation_alias="WARROOM_MAX_REPLICAS")

    @property
    def allowed(self) -> set[str]:
        return {u.strip() for u in self.allowed_users.split(",") if u.strip()}


class OpsError(Exception):
    """A refusal whose message is fit for Slack."""


def ops_settings(services: Services) -> OpsSettings:
    override = services.extras.get("ops_settings")
    return override if isinstance(override, OpsSettings) else OpsSettings()


def api_client(services: Services) -> Any:
    api = services.extras.get("kube_api")
    if api is not None:
        return api
    cached = services.extras.get("_ops_kube_api")
    if cached is None:
        cached = kube_ops.load_api_client(kubeconfig=ops_settings(services).kubeconfig)
        services.extras["_ops_kube_api"] = cached
    return cached


def catalog(services: Services) -> Catalog | None:
    given = services.extras.get("catalog")
    if isinstance(given, Catalog):
        return given
    path = ops_settings(services).catalog_file or services.settings.catalog_file
    if path is None:
        return None
    return load_catalog(path)


def service_for(services: Services, namespace: str, deployment: str) -> Service | None:
    try:
        cat = catalog(services)
    except Exception as exc:  # a broken catalog must not block a rollback
        log.warning("catalog unreadable", error=str(exc))
        return None
    if cat is None:
        return None
    for svc in cat.services:
        k = svc.kubernetes
        if k is not None and k.namespace == namespace and k.deployment == deployment:
            return svc
    return None


def _images(images: dict[str, str]) -> str:
    return ", ".join(f"`{name}={image}`" for name, image in images.items())


@dataclass
class Request:
    """What a Confirm button carries: enough to re-plan and check nothing moved meanwhile."""

    action: str
    namespace: str
    deployment: str
    incident: int
    args: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    nonce: str = field(default_factory=lambda: secrets.token_hex(6))

    @property
    def target(self) -> str:
        return f"{self.namespace}/{self.deployment}"

    def to_value(self) -> str:
        return json.dumps(
            {
                "a": self.action,
                "ns": self.namespace,
                "d": self.deployment,
                "n": self.incident,
                "args": self.args,
                "b": self.before,
                "f": self.after,
                "id": self.nonce,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_value(cls, raw: str) -> Request:
        try:
            v = json.loads(raw)
            req = cls(
                action=str(v["a"]),
                namespace=str(v["ns"]),
                deployment=str(v["d"]),
                incident=int(v["n"]),
                args=dict(v.get("args") or {}),
                before=dict(v.get("b") or {}),
                after=dict(v.get("f") or {}),
                nonce=str(v["id"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise OpsError("This button does not describe an operation; nothing was done.") from exc
        if req.action not in ACTIONS:
            raise OpsError(f"Unknown operation {req.action!r}; nothing was done.")
        return req


@dataclass
class Planned:
    request: Request
    plan: Any
    text: str  # the exact change, mrkdwn


def _describe(action: str, plan: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    if action == "rollback":
        before = {"revision": plan.current_revision, "images": plan.current_images}
        after = {"revision": plan.target_revision, "images": plan.target_images}
        text = (
            f"*Roll back* `{plan.namespace}/{plan.deployment}`\n"
            f"revision {plan.current_revision} → {plan.target_revision}\n"
            f"{_images(plan.current_images)} → {_images(plan.target_images)}"
        )
    elif action == "scale":
        before = {"replicas": plan.current_replicas}
        after = {"replicas": plan.new_replicas}
        text = (
            f"*Scale* `{plan.namespace}/{plan.deployment}`\n"
            f"replicas {plan.current_replicas} → {plan.new_replicas}"
        )
    else:
        before = {"revision": plan.current_revision}
        after = {"restarted_at": plan.restarted_at}
        text = (
            f"*Restart* `{plan.namespace}/{plan.deployment}`: every pod is replaced "
            f"(rolling), same images; restartedAt = {plan.restarted_at}"
        )
    return before, after, text


def _plan_sync(api: Any, action: str, ns: str, name: str, args: dict[str, Any]) -> Any:
    if action == "rollback":
        return kube_ops.plan_rollback(api, ns, name, args.get("to_revision"))
    if action == "scale":
        return kube_ops.plan_scale(api, ns, name, int(args["replicas"]))
    return kube_ops.plan_restart(api, ns, name)


def _apply_sync(api: Any, action: str, plan: Any) -> Any:
    if action == "rollback":
        return kube_ops.apply_rollback(api, plan)
    if action == "scale":
        return kube_ops.apply_scale(api, plan)
    return kube_ops.apply_restart(api, plan)


def validate(services: Services, action: str, args: dict[str, Any]) -> None:
    if action == "scale":
        replicas = int(args["replicas"])
        limit = ops_settings(services).max_replicas
        if replicas < 0:
            raise OpsError("Replicas must be zero or more.")
        if replicas > limit:
            raise OpsError(
                f"{replicas} replicas is above the limit of {limit} (WARROOM_MAX_REPLICAS)."
            )


async def plan(
    services: Services,
    action: str,
    namespace: str,
    deployment: str,
    incident: int,
    args: dict[str, Any] | None = None,
) -> Planned:
    """Read-only; raises OpsError or KubeError with a plain message."""
    args = dict(args or {})
    validate(services, action, args)
    api = api_client(services)
    p = await kube_ops.in_thread(_plan_sync, api, action, namespace, deployment, args)
    before, after, text = _describe(action, p)
    req = Request(action, namespace, deployment, incident, args, before, after)
    return Planned(req, p, text)


def confirmation_blocks(planned: Planned, *, dry_run: bool) -> list[dict[str, Any]]:
    value = planned.request.to_value()
    head = "🧪 *Dry run* — nothing will be changed.\n" if dry_run else ""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": head + planned.text}},
        {
            "type": "actions",
            "block_id": "ops_confirm",
            "elements": [
                {
                    "type": "button",
                    "action_id": "ops_confirm",
                    "text": {"type": "plain_text", "text": "Confirm"},
                    "style": "danger" if planned.request.action != "scale" else "primary",
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": "ops_cancel",
                    "text": {"type": "plain_text", "text": "Cancel"},
                    "value": value,
                },
            ],
        },
    ]


def authorised(services: Services, inc: Incident, user: str) -> bool:
    allowed = ops_settings(services).allowed
    if allowed:
        return user in allowed
    return user in {inc.commander_id, inc.reporter_id}


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


async def load_incident(services: Services, number: int) -> Incident | None:
    from incident import registry

    async with services.sessions() as session:
        return await registry.get(session, number)


@dataclass
class Outcome:
    ok: bool
    message: str  # what the clicker is told
    ran: bool = False  # whether anything reached the cluster


def _verb(action: str) -> str:
    return {"rollback": "rollback", "scale": "scale", "restart": "restart"}[action]


async def execute(services: Services, req: Request, user: str) -> Outcome:
    """The Confirm press: authorise, lock, re-plan, apply, follow, verify, audit."""
    inc = await load_incident(services, req.incident)
    if inc is None:
        return Outcome(False, f"Incident #{req.incident} no longer exists; nothing was done.")
    what = f"{req.action} {req.target}"
    if not authorised(services, inc, user):
        reason = (
            "only the users in WARROOM_OPS_ALLOWED_USERS may run operations"
            if ops_settings(services).allowed
            else "only the incident commander or reporter may run operations"
        )
        await record(
            services,
            inc.number,
            event_kinds.DENIED,
            actor=user,
            text=f"refused {what}",
            data={"what": what, "reason": reason, **_action_data(req)},
        )
        return Outcome(False, f"⛔ You are not allowed to {what}: {reason}.")

    dry_run = ops_settings(services).dry_run
    try:
        held, holder = await services.locks.acquire(
            f"deploy:{req.target}", LOCK_TTL_S, user=user, action=req.action
        )
    except LockUnavailable:
        return Outcome(
            False, "⚠️ Cannot take the deploy lock (Redis unreachable); nothing was done."
        )
    if held is None:
        by = holder.get("user")
        return Outcome(
            False,
            f"⏳ {_verb(holder.get('action') or req.action)} of {req.deployment} already in "
            f"progress" + (f", started by <@{by}>" if by else "") + "; nothing was done.",
        )
    try:
        return await _locked(services, inc, req, user, dry_run)
    finally:
        await services.locks.release(held)


def _action_data(req: Request) -> dict[str, Any]:
    return {"action": req.action, "target": req.target, "before": req.before, "after": req.after}


async def _post(services: Services, channel: str | None, text: str) -> str | None:
    """Post to the incident channel; the message's ts, or None when it could not be posted."""
    if not channel:
        return None
    try:
        resp = await services.slack.chat_postMessage(channel=channel, text=text)
    except Exception as exc:
        log.warning("ops post failed", error=str(exc))
        return None
    try:
        ts = resp.get("ts")
    except Exception:
        return None
    return str(ts) if ts else None


class ProgressMessage:
    """One channel message for a rollout: posted once, then edited in place (chat.update)
    as the rollout advances, so the channel does not fill with a line per poll."""

    def __init__(self, services: Services, channel: str | None, head: str) -> None:
        self.services = services
        self.channel = channel
        self.head = head
        self.ts: str | None = None
        self.last: str | None = None

    def _text(self, line: str | None) -> str:
        return self.head if not line else f"{self.head}\n{line}"

    async def start(self) -> None:
        self.ts = await _post(self.services, self.channel, self._text(None))

    async def show(self, line: str) -> None:
        if line == self.last or not self.channel:
            return
        self.last = line
        text = self._text(line)
        if self.ts is None:  # the first post failed: try once more, then keep editing that
            self.ts = await _post(self.services, self.channel, text)
            return
        try:
            await self.services.slack.chat_update(channel=self.channel, ts=self.ts, text=text)
        except Exception as exc:
            log.warning("ops progress update failed", error=str(exc))


async def _locked(
    services: Services, inc: Incident, req: Request, user: str, dry_run: bool
) -> Outcome:
    api = api_client(services)
    channel = inc.channel_id
    data = _action_data(req) | {"actor": user, "approved_by": user, "dry_run": dry_run}
    try:
        fresh = await plan(
            services, req.action, req.namespace, req.deployment, inc.number, req.args
        )
        if req.action != "restart" and (
            fresh.request.before != req.before or fresh.request.after != req.after
        ):
            raise OpsError(
                f"{req.target} changed since this was planned (now: {fresh.text}); "
                "nothing was done. Run the command again."
            )
        if dry_run:
            data["outcome"] = "dry_run"
            await record(
                services,
                inc.number,
                event_kinds.ACTION,
                actor=user,
                text=f"dry run: {req.action} {req.target}",
                data=data,
            )
            return Outcome(True, f"🧪 Dry run, nothing changed. Would have done:\n{fresh.text}")
        board = ProgressMessage(services, channel, f"🔧 <@{user}> started: {fresh.text}")
        await board.start()
        result = await kube_ops.in_thread(_apply_sync, api, req.action, fresh.plan)
    except (kube_ops.KubeError, OpsError) as exc:
        data["outcome"] = "refused"
        data["refused_reason"] = str(exc)
        await record(
            services,
            inc.number,
            event_kinds.ACTION,
            actor=user,
            text=f"{req.action} {req.target} failed: {exc}",
            data=data,
        )
        return Outcome(False, f"⚠️ {exc}")

    data["after"] = req.after | {"images": result.images, "replicas": result.replicas}

    async def progress(p: Any) -> None:
        await board.show(f"⏳ {req.deployment}: {p.message}")

    try:
        rollout = await kube_ops.follow_rollout_async(
            api,
            req.namespace,
            req.deployment,
            timeout_s=ROLLOUT_TIMEOUT_S,
            poll_s=ROLLOUT_POLL_S,
            on_progress=progress,
        )
        rollout_ok, rollout_msg = rollout.ok, rollout.message
    except kube_ops.KubeError as exc:
        rollout_ok, rollout_msg = False, str(exc)

    health_line = ""
    health_ok = True
    svc = service_for(services, req.namespace, req.deployment)
    if svc is not None and svc.health_url:
        from bot.checks.http_health import HttpHealthChecker
        from bot.checks.runner import run_checks
        from incident.checks import render_mrkdwn, summarise

        results = await run_checks([svc], [HttpHealthChecker()])
        health_ok = summarise(results).status.name == "OK"
        health_line = "\n" + "\n".join(render_mrkdwn(results))

    ok = rollout_ok and health_ok
    verdict = (
        f"{'✅' if ok else '❌'} {req.action} of {req.target} "
        f"{'succeeded' if ok else 'did not succeed'}: {rollout_msg}{health_line}"
    )
    await _post(services, channel, verdict)
    data["outcome"] = "succeeded" if ok else ("unhealthy" if rollout_ok else "rollout_failed")
    data["rollout"] = rollout_msg
    await record(
        services,
        inc.number,
        event_kinds.ACTION,
        actor=user,
        text=f"{req.action} {req.target}: {data['outcome']}",
        data=data,
    )
    return Outcome(ok, verdict, ran=True)


def history_text(revisions: list[Any], target: str) -> str:
    if not revisions:
        return f"No rollout history for `{target}`."
    lines = [f"*Rollout history of `{target}`* (oldest first)"]
    for r in revisions:
        mark = " ← current" if r.is_current else ""
        cause = f" — {r.change_cause}" if r.change_cause else ""
        lines.append(f"• {r.number}: {_images(r.images)}{cause}{mark}")
    return "\n".join(lines)


async def history(services: Services, namespace: str, deployment: str) -> str:
    api = api_client(services)
    revs = await kube_ops.in_thread(kube_ops.history, api, namespace, deployment)
    return history_text(revs, f"{namespace}/{deployment}")
