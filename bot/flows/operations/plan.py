"""Before anything changes: where a Deployment runs, what the change would be, in words.

Everything here only reads. A plan is shown to a person with Confirm/Cancel; the Confirm
press (`execute`) reads the cluster again and applies only if nothing moved meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.adapters import kube as kube_ops
from bot.adapters.catalog.model import Catalog, Cluster, Service
from bot.flows.operations import audit, policy
from bot.flows.operations.errors import OpsError, PolicyRefusal
from bot.flows.operations.request import Request, target_name
from bot.services import Services
from bot.slack.ui.operations import Choice, history_text, rollback_plan_text
from incident.numbers import parse_count

DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class Located:
    cluster: str | None  # a catalog cluster name; None = the kubeconfig's current context
    namespace: str
    deployment: str

    @property
    def target(self) -> str:
        return target_name(self.cluster, self.namespace, self.deployment)


def _declared(catalog: Catalog) -> list[str]:
    return [c.name for c in catalog.clusters]


def _unknown_cluster(name: str, declared: list[str], *, none_note: str) -> OpsError:
    return OpsError(
        f"Unknown cluster `{name}`"
        + (f" (the catalog declares: {', '.join(declared)})." if declared else none_note)
    )


def locate(
    catalog: Catalog | None,
    name: str,
    namespace: str | None = None,
    cluster: str | None = None,
) -> Located:
    """Where `name` runs: a catalog service name, else a Deployment the catalog lists, else
    the Deployment called `name` in `namespace` (default "default").

    With several clusters declared, a Deployment the catalog does not pin to one cluster
    needs ``cluster``: guessing would operate on the wrong cluster at the worst moment.
    """
    if catalog is None:
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

    by_name = [s for s in catalog.services if s.name == name and fits(s)]
    by_deployment = [
        s for s in catalog.services if s.kubernetes and s.kubernetes.deployment == name and fits(s)
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
    declared = _declared(catalog)
    if cluster is not None and cluster not in declared:
        raise _unknown_cluster(cluster, declared, none_note=".")
    if cluster is None and len(declared) > 1:
        raise OpsError(
            f"`{name}` is not in the catalog and several clusters are declared "
            f"({', '.join(declared)}): add `--cluster <name>`."
        )
    if cluster is None and declared:
        cluster = declared[0]
    return Located(cluster, namespace or DEFAULT_NAMESPACE, name)


def cluster_entry(catalog: Catalog | None, name: str) -> Cluster:
    try:
        if catalog is None:
            raise KeyError(name)
        return catalog.cluster(name)
    except KeyError:
        declared = _declared(catalog) if catalog else []
        raise _unknown_cluster(name, declared, none_note=" (no clusters declared).") from None


def api_for(services: Services, cluster: str | None) -> Any:
    """The API client for a catalog cluster (its kubeconfig context or in-cluster config),
    or for the kubeconfig's current context when ``cluster`` is None."""
    entry = None
    if cluster is not None:
        try:
            entry = cluster_entry(services.catalog.current, cluster)
        except OpsError:
            if not services.kube.injected:  # a test's fake API server answers for any name
                raise
    return services.kube.get(cluster, entry)


def service_for(
    catalog: Catalog | None, namespace: str, deployment: str, cluster: str | None = None
) -> Service | None:
    if catalog is None:
        return None
    for svc in catalog.services:
        k = svc.kubernetes
        if k is not None and k.namespace == namespace and k.deployment == deployment:
            if cluster is None or k.context == cluster:
                return svc
    return None


def deployment_choices(catalog: Catalog | None) -> tuple[list[Choice], str | None]:
    """Every catalog service with a Deployment, for a modal's menu; else why there is none."""
    if catalog is None:
        return [], "No service catalog is configured (CATALOG_FILE)."
    found = []
    for svc in catalog.services:
        k = svc.kubernetes
        if k is not None:
            where = target_name(k.context, k.namespace, k.deployment)
            found.append((where, f"{svc.name} ({where})"))
    if not found:
        return [], "The service catalog names no Kubernetes Deployment."
    return found, None


# -- the plan ------------------------------------------------------------------------------


@dataclass
class Planned:
    request: Request
    plan: Any  # the adapter's RollbackPlan | ScalePlan | RestartPlan
    text: str  # the exact change, mrkdwn
    dry_run: bool = False


def describe(
    action: str, plan: Any, cluster: str | None
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(before, after, text): what the button carries to compare, and what the person reads."""
    target = target_name(cluster, plan.namespace, plan.deployment)  # as progress/verdict say it
    if action == "rollback":
        before = {"revision": plan.current_revision, "images": plan.current_images}
        after = {"revision": plan.target_revision, "images": plan.target_images}
        revisions = [r for r in (plan.current_revision, plan.target_revision) if r]
        becomes = max(revisions) + 1 if plan.current_revision else None
        text = rollback_plan_text(
            target,
            plan.target_revision,
            becomes,
            plan.current_images,
            plan.target_images,
        )
    elif action == "scale":
        before = {"replicas": plan.current_replicas}
        after = {"replicas": plan.new_replicas}
        text = f"*Scale* `{target}`\nreplicas {plan.current_replicas} → {plan.new_replicas}"
    else:
        before = {"revision": plan.current_revision}
        after = {"restarted_at": plan.restarted_at}
        text = (
            f"*Restart* `{target}`: every pod is replaced "
            f"(rolling), same images; restartedAt = {plan.restarted_at}"
        )
    return before, after, text


def _plan_sync(api: Any, action: str, ns: str, name: str, args: dict[str, Any]) -> Any:
    if action == "rollback":
        return kube_ops.plan_rollback(api, ns, name, args.get("to_revision"))
    if action == "scale":
        return kube_ops.plan_scale(api, ns, name, parse_count(args["replicas"]))
    return kube_ops.plan_restart(api, ns, name)


async def read(
    services: Services, action: str, where: Located, incident: int, args: dict[str, Any]
) -> Planned:
    """The change as the cluster stands now; no policy here (the caller decided)."""
    api = api_for(services, where.cluster)
    p = await kube_ops.in_thread(_plan_sync, api, action, where.namespace, where.deployment, args)
    before, after, text = describe(action, p, where.cluster)
    req = Request(
        action=action,
        namespace=where.namespace,
        deployment=where.deployment,
        incident=incident,
        args=args,
        before=before,
        after=after,
        cluster=where.cluster,
    )
    return Planned(req, p, text, dry_run=policy.dry_run(services))


async def propose(
    services: Services,
    incident: int,
    user: str,
    action: str,
    where: Located,
    args: dict[str, Any] | None = None,
) -> Planned:
    """A slash command or a modal asks for a change: decide whether the policy lets anyone
    make it (a refusal is audited), then read the plan. Raises OpsError or KubeError with a
    plain message."""
    args = dict(args or {})
    decision = policy.decide_target(
        services,
        user,
        action,
        args,
        cluster=where.cluster,
        namespace=where.namespace,
        deployment=where.deployment,
    )
    if not decision.allowed:
        await audit.refused(services, incident, decision)
        raise PolicyRefusal(decision.reason)
    return await read(services, action, where, incident, args)


async def history(services: Services, where: Located) -> str:
    api = api_for(services, where.cluster)
    revs = await kube_ops.in_thread(kube_ops.history, api, where.namespace, where.deployment)
    return history_text(revs, where.target)
