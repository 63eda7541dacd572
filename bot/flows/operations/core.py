"""Runbook operations from Slack: plan, confirm, authorise, lock, apply, follow, verify, audit.

Every change is shown before it is made (an ephemeral with Confirm/Cancel), applied only by an
authorised person holding the Redis lock for that Deployment, followed to the end of its
rollout with progress in the incident channel, checked against the catalog's health URL, and
recorded on the timeline whatever the outcome.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.adapters import kube as kube_ops
from bot.adapters.catalog.load import load_catalog
from bot.adapters.catalog.model import Catalog, Cluster, OperationsPolicy, Service
from bot.adapters.locks import LockUnavailable
from bot.flows.operations import leases as rollout_leases
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


def api_client(services: Services, cluster: str | None = None) -> Any:
    """The client for a catalog cluster (its kubeconfig context or in-cluster config), or
    for the kubeconfig's current context when ``cluster`` is None; one per cluster.

    Tests inject clients as ``extras["kube_apis"][cluster]`` or one for all as
    ``extras["kube_api"]``."""
    injected = services.extras.get("kube_apis") or {}
    if cluster in injected:
        return injected[cluster]
    api = services.extras.get("kube_api")
    if api is not None:
        return api
    cache: dict[str | None, Any] = services.extras.setdefault("_ops_kube_apis", {})
    if cluster not in cache:
        kubeconfig = ops_settings(services).kubeconfig
        if cluster is None:
            cache[None] = kube_ops.load_api_client(kubeconfig=kubeconfig)
        else:
            known = _cluster_entry(services, cluster)
            cache[cluster] = kube_ops.load_api_client(
                context=known.kubeconfig_context,
                kubeconfig=kubeconfig,
                in_cluster=known.in_cluster,
            )
    return cache[cluster]


def _cluster_entry(services: Services, name: str) -> Cluster:
    cat = catalog(services)
    try:
        if cat is None:
            raise KeyError(name)
        return cat.cluster(name)
    except KeyError:
        declared = ", ".join(c.name for c in cat.clusters) if cat else ""
        raise OpsError(
            f"Unknown cluster `{name}`"
            + (f" (the catalog declares: {declared})." if declared else " (no clusters declared).")
        ) from None


def catalog(services: Services) -> Catalog | None:
    given = services.extras.get("catalog")
    if isinstance(given, Catalog):
        return given
    path = ops_settings(services).catalog_file or services.settings.catalog_file
    if path is None:
        return None
    return load_catalog(path)


def service_for(
    services: Services, namespace: str, deployment: str, cluster: str | None = None
) -> Service | None:
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
            if cluster is None or k.context == cluster:
                return svc
    return None


DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class Located:
    cluster: str | None  # a catalog cluster name; None = the kubeconfig's current context
    namespace: str
    deployment: str


def locate(
    services: Services,
    name: str,
    namespace: str | None = None,
    cluster: str | None = None,
) -> Located:
    """Where `name` runs: a catalog service name, else a Deployment the catalog lists, else
    the Deployment called `name` in `namespace` (default "default").

    With several clusters declared, a Deployment the catalog does not pin to one cluster
    needs ``cluster``: guessing would operate on the wrong cluster at the worst moment.
    """
    try:
        cat = catalog(services)
    except Exception:  # a broken catalog must not block a rollback by explicit name
        cat = None
    if cat is None:
        if cluster is not None:
            raise OpsError(f"Unknown cluster `{cluster}`: no service catalog declares clusters.")
        return Located(None, namespace or DEFAULT_NAMESPACE, name)

    def fits(svc: Service) -> bool:
        k = svc.kubernetes
        return (
            k is not None
            and (namespace is None or k.namespace == namespace)
            and (cluster is None or k.context == cluster)
        )

    by_name = [s for s in cat.services if s.name == name and fits(s)]
    by_deployment = [
        s for s in cat.services if s.kubernetes and s.kubernetes.deployment == name and fits(s)
    ]
    for found in (by_name, by_deployment):
        places = {(s.kubernetes.context, s.kubernetes.namespace) for s in found if s.kubernetes}
        if len(places) == 1:
            k = found[0].kubernetes
            assert k is not None
            return Located(k.context, k.namespace, k.deployment)
        if len(places) > 1:
            where = ", ".join(sorted(f"{c or 'default'}:{ns}" for c, ns in places))
            raise OpsError(
                f"`{name}` runs in several places ({where}): add `--cluster <name>` "
                "and/or `-n <namespace>`."
            )
    declared = [c.name for c in cat.clusters]
    if cluster is not None and cluster not in declared:
        raise OpsError(
            f"Unknown cluster `{cluster}`"
            + (f" (the catalog declares: {', '.join(declared)})." if declared else ".")
        )
    if cluster is None and len(declared) > 1:
        raise OpsError(
            f"`{name}` is not in the catalog and several clusters are declared "
            f"({', '.join(declared)}): add `--cluster <name>`."
        )
    if cluster is None and declared:
        cluster = declared[0]
    return Located(cluster, namespace or DEFAULT_NAMESPACE, name)


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
    cluster: str | None = None

    @property
    def target(self) -> str:
        where = f"{self.namespace}/{self.deployment}"
        return f"{self.cluster}:{where}" if self.cluster else where

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
                **({"c": self.cluster} if self.cluster else {}),
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
                cluster=str(v["c"]) if v.get("c") else None,
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


def _describe(
    action: str, plan: Any, cluster: str | None
) -> tuple[dict[str, Any], dict[str, Any], str]:
    where = f"{cluster}:" if cluster else ""
    if action == "rollback":
        before = {"revision": plan.current_revision, "images": plan.current_images}
        after = {"revision": plan.target_revision, "images": plan.target_images}
        text = (
            f"*Roll back* `{where}{plan.namespace}/{plan.deployment}`\n"
            f"revision {plan.current_revision} → {plan.target_revision}\n"
            f"{_images(plan.current_images)} → {_images(plan.target_images)}"
        )
    elif action == "scale":
        before = {"replicas": plan.current_replicas}
        after = {"replicas": plan.new_replicas}
        text = (
            f"*Scale* `{where}{plan.namespace}/{plan.deployment}`\n"
            f"replicas {plan.current_replicas} → {plan.new_replicas}"
        )
    else:
        before = {"revision": plan.current_revision}
        after = {"restarted_at": plan.restarted_at}
        text = (
            f"*Restart* `{where}{plan.namespace}/{plan.deployment}`: every pod is replaced "
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


class AlreadyDone(OpsError):
    """The Deployment already is as planned, or this very plan was already confirmed."""


async def _refuse_if_confirmed(services: Services, number: int, req: Request) -> None:
    earlier = await _earlier_run(services, number, req.nonce)
    if earlier is not None:
        raise AlreadyDone(
            f"This {req.action} of {req.target} was already confirmed by "
            f"<@{earlier.actor}> (outcome: {earlier.data.get('outcome')}); "
            "nothing more was done."
        )


class PolicyRefusal(OpsError):
    """The catalog's `operations:` policy forbids this target or value."""


def policy(services: Services) -> OperationsPolicy:
    try:
        cat = catalog(services)
    except Exception:  # a broken catalog: the defaults (and the env settings) still apply
        cat = None
    return cat.operations if cat is not None else OperationsPolicy()


def _matches(patterns: list[str], namespace: str, deployment: str) -> str | None:
    for pattern in patterns:
        subject = f"{namespace}/{deployment}" if "/" in pattern else deployment
        if fnmatch.fnmatchcase(subject, pattern):
            return pattern
    return None


def validate(
    services: Services,
    action: str,
    args: dict[str, Any],
    namespace: str | None = None,
    deployment: str | None = None,
) -> None:
    """Input and policy checks that need no cluster; with a target, its policy too."""
    rules = policy(services)
    if namespace is not None and deployment is not None:
        if rules.namespaces and not any(
            fnmatch.fnmatchcase(namespace, p) for p in rules.namespaces
        ):
            raise PolicyRefusal(
                f"warroom may not operate in namespace `{namespace}` "
                f"(allowed: {', '.join(rules.namespaces)})."
            )
        if rules.deployments and _matches(rules.deployments, namespace, deployment) is None:
            raise PolicyRefusal(
                f"warroom may not operate `{namespace}/{deployment}` "
                f"(allowed: {', '.join(rules.deployments)})."
            )
    if action == "scale":
        replicas = int(args["replicas"])
        limit = ops_settings(services).max_replicas
        if replicas < 0:
            raise OpsError("Replicas must be zero or more.")
        if replicas > limit:
            raise PolicyRefusal(
                f"{replicas} replicas is above the limit of {limit} (WARROOM_MAX_REPLICAS)."
            )
        if namespace is not None and deployment is not None:
            key = _matches(list(rules.replicas), namespace, deployment)
            if key is not None:
                bounds = rules.replicas[key]
                where = f"{namespace}/{deployment}"
                if replicas < bounds.min:
                    raise PolicyRefusal(
                        f"{replicas} replicas is below the minimum of {bounds.min} for {where}."
                    )
                if bounds.max is not None and replicas > bounds.max:
                    raise PolicyRefusal(
                        f"{replicas} replicas is above the maximum of {bounds.max} for {where}."
                    )


def dry_run_on(services: Services) -> bool:
    return ops_settings(services).dry_run or policy(services).dry_run


async def plan(
    services: Services,
    action: str,
    namespace: str,
    deployment: str,
    incident: int,
    args: dict[str, Any] | None = None,
    *,
    cluster: str | None = None,
    actor: str | None = None,
) -> Planned:
    """Read-only; raises OpsError or KubeError with a plain message. A policy refusal is
    audited when ``actor`` (the person asking) is given."""
    args = dict(args or {})
    try:
        validate(services, action, args, namespace, deployment)
    except PolicyRefusal as exc:
        if actor is not None:
            where = (f"{cluster}:" if cluster else "") + f"{namespace}/{deployment}"
            what = f"{action} {where}"
            await record(
                services,
                incident,
                event_kinds.DENIED,
                actor=actor,
                text=f"refused {what}",
                data={"what": what, "reason": str(exc), "action": action, "target": where},
            )
        raise
    api = api_client(services, cluster)
    p = await kube_ops.in_thread(_plan_sync, api, action, namespace, deployment, args)
    before, after, text = _describe(action, p, cluster)
    req = Request(action, namespace, deployment, incident, args, before, after, cluster=cluster)
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


async def authorised(services: Services, inc: Incident, user: str, action: str) -> tuple[bool, str]:
    """(allowed, who may) — the catalog's per-action allow list, else
    WARROOM_OPS_ALLOWED_USERS, else the incident's commander and reporter."""
    from bot.flows.lifecycle.service import group_members

    rule = policy(services).allow.get(action)  # type: ignore[call-overload]
    if rule is not None:
        if user in rule.users:
            return True, ""
        for handle in rule.usergroups:
            if user in await group_members(services, handle):
                return True, ""
        who = [f"<@{u}>" for u in rule.users] + [f"@{g.lstrip('@')}" for g in rule.usergroups]
        return False, f"only {', '.join(who) or 'nobody'} may {action} (the catalog's policy)"
    allowed = ops_settings(services).allowed
    if allowed:
        return user in allowed, "only the users in WARROOM_OPS_ALLOWED_USERS may run operations"
    return (
        user in {inc.commander_id, inc.reporter_id},
        "only the incident commander or reporter may run operations",
    )


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
    allowed, reason = await authorised(services, inc, user, req.action)
    if not allowed:
        await record(
            services,
            inc.number,
            event_kinds.DENIED,
            actor=user,
            text=f"refused {what}",
            data={"what": what, "reason": reason, **_action_data(req)},
        )
        return Outcome(False, f"⛔ You are not allowed to {what}: {reason}.")

    try:  # cheap, before the lock: a late double click need not queue behind the rollout
        await _refuse_if_confirmed(services, inc.number, req)
    except AlreadyDone as exc:
        return Outcome(False, f"ℹ️ {exc}")
    dry_run = dry_run_on(services)
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
    channel = inc.channel_id
    data = _action_data(req) | {"actor": user, "approved_by": user, "dry_run": dry_run}
    try:
        api = api_client(services, req.cluster)
        await _refuse_if_confirmed(services, inc.number, req)
        try:
            fresh = await plan(
                services,
                req.action,
                req.namespace,
                req.deployment,
                inc.number,
                req.args,
                cluster=req.cluster,
            )
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
    except AlreadyDone as exc:  # a second Confirm of a done change: no new action to audit
        return Outcome(False, f"ℹ️ {exc}")
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
    data["request_id"] = req.nonce
    lease = await rollout_leases.start(
        services,
        req.nonce,
        inc.number,
        {"value": json.loads(req.to_value()), "head": board.head},
        data,
        actor=user,
        channel_id=channel,
        progress_ts=board.ts,
    )
    return await finish(services, Follow(inc.number, req, user, data, api, board), lease)


@dataclass
class Follow:
    """An applied change whose rollout is being watched."""

    number: int
    req: Request
    user: str
    data: dict[str, Any]  # the timeline record so far
    api: Any
    board: ProgressMessage


async def finish(services: Services, follow: Follow, lease: rollout_leases.Lease | None) -> Outcome:
    """Follow the rollout, verify health, post the verdict, record it; under the lease, so
    a stopped replica's follow is finished by another (`bot.rollout_watch`)."""
    renewing = asyncio.create_task(rollout_leases.keep_alive(services, lease)) if lease else None
    try:
        return await _follow_and_verify(services, follow)
    except asyncio.CancelledError:
        if lease is not None:
            await asyncio.shield(rollout_leases.hand_back(services, lease))
        raise
    finally:
        if renewing is not None:
            renewing.cancel()


async def _follow_and_verify(services: Services, follow: Follow) -> Outcome:
    number, req, user, data, api, board = (
        follow.number,
        follow.req,
        follow.user,
        follow.data,
        follow.api,
        follow.board,
    )

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
    svc = service_for(services, req.namespace, req.deployment, req.cluster)
    if svc is not None and svc.health_url:
        from bot.adapters.checks.http_health import HttpHealthChecker
        from bot.adapters.checks.runner import run_checks
        from incident.checks import render_mrkdwn, summarise

        results = await run_checks([svc], [HttpHealthChecker()])
        health_ok = summarise(results).status.name == "OK"
        health_line = "\n" + "\n".join(render_mrkdwn(results))

    ok = rollout_ok and health_ok
    verdict = (
        f"{'✅' if ok else '❌'} {req.action} of {req.target} "
        f"{'succeeded' if ok else 'did not succeed'}: {rollout_msg}{health_line}"
    )
    data["outcome"] = "succeeded" if ok else ("unhealthy" if rollout_ok else "rollout_failed")
    data["rollout"] = rollout_msg
    first = await _record_final(services, number, req, user, data)
    if first:  # a replica that lost the race to finish this follow stays quiet
        await _post(services, board.channel, verdict)
    return Outcome(ok, verdict, ran=True)


async def _record_final(
    services: Services, number: int, req: Request, user: str, data: dict[str, Any]
) -> bool:
    """The outcome on the timeline and the follow closed, in one transaction."""
    now = services.clock.now()
    try:
        async with services.transaction() as session:
            stored = await timeline.record(
                session,
                number,
                event_kinds.ACTION,
                at=now,
                actor=user,
                text=f"{req.action} {req.target}: {data['outcome']}",
                data=data,
                key=f"ops-done:{req.nonce}",
            )
            await rollout_leases.mark_finished(session, req.nonce, now)
            return bool(stored)
    except Exception as exc:  # the audit must not hide what happened in the cluster
        log.error("timeline record failed", incident=number, error=str(exc))
        return True


def history_text(revisions: list[Any], target: str) -> str:
    if not revisions:
        return f"No rollout history for `{target}`."
    lines = [f"*Rollout history of `{target}`* (oldest first)"]
    for r in revisions:
        mark = " ← current" if r.is_current else ""
        cause = f" — {r.change_cause}" if r.change_cause else ""
        lines.append(f"• {r.number}: {_images(r.images)}{cause}{mark}")
    return "\n".join(lines)


async def history(
    services: Services, namespace: str, deployment: str, cluster: str | None = None
) -> str:
    api = api_client(services, cluster)
    revs = await kube_ops.in_thread(kube_ops.history, api, namespace, deployment)
    where = f"{cluster}:" if cluster else ""
    return history_text(revs, f"{where}{namespace}/{deployment}")


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
        return _images(after["images"])
    if "replicas" in after:
        return f"{after['replicas']} replicas"
    return "as planned"


async def _earlier_run(services: Services, number: int, nonce: str) -> Any:
    """The timeline event of an earlier Confirm of this very plan that reached the cluster.

    Kept in Postgres, so a restart (which a Redis `once` might not survive) still refuses a
    second restart from the same button."""
    async with services.sessions() as session:
        for event in await timeline.events(session, number, kinds=(event_kinds.ACTION,)):
            if (event.data or {}).get("request_id") == nonce:
                return event
    return None
