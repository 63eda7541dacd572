"""Revision history and rollback with `kubectl rollout history` / `rollout undo` semantics."""

from __future__ import annotations

import copy
from typing import Any

from kubernetes.client import ApiClient

from bot.adapters.kube.client import DEFAULT_TIMEOUT_S, Target, apps, call
from bot.adapters.kube.errors import (
    AlreadyAtRevision,
    ConcurrentChange,
    Conflict,
    DeploymentPaused,
    NoPreviousRevision,
    RevisionNotFound,
)
from bot.adapters.kube.models import ChangeResult, Revision, RollbackPlan
from bot.adapters.kube.objects import (
    CHANGE_CAUSE,
    ROLLBACK_SKIPPED_ANNOTATIONS,
    current_replicaset,
    images_of,
    owned_replicasets,
    parse_time,
    read_deployment,
    revision_of,
    templates_equal,
    without_hash,
)


def history(
    api: ApiClient, namespace: str, deployment: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[Revision]:
    """Oldest first; ReplicaSets without a revision annotation are not history."""
    d = read_deployment(api, namespace, deployment, "read the history of", timeout_s)
    rss = owned_replicasets(api, d, "read the history of", timeout_s)
    current = current_replicaset(d, rss)
    revisions = []
    for rs in rss:
        number = revision_of(rs)
        if number is None:
            continue
        annotations = rs["metadata"].get("annotations") or {}
        revisions.append(
            Revision(
                number=number,
                images=images_of(rs["spec"]["template"]),
                change_cause=annotations.get(CHANGE_CAUSE),
                created=parse_time(rs["metadata"].get("creationTimestamp")),
                is_current=current is not None
                and rs["metadata"]["uid"] == current["metadata"]["uid"],
                replicaset=rs["metadata"]["name"],
                replicas=int(rs["spec"].get("replicas") or 0),
            )
        )
    return sorted(revisions, key=lambda r: r.number)


def _pick_target(name: str, rss: list[dict[str, Any]], to_revision: int | None) -> dict[str, Any]:
    """deploymentRevision(): an explicit number, or the second-highest revision."""
    numbered = [(revision_of(rs), rs) for rs in rss]
    numbered = [(n, rs) for n, rs in numbered if n is not None]
    if to_revision is not None:
        if to_revision < 0:
            raise RevisionNotFound(f"unable to find specified revision {to_revision} in history")
        for number, rs in numbered:
            if number == to_revision:
                return rs
        raise RevisionNotFound(f"unable to find specified revision {to_revision} in history")
    numbered.sort(key=lambda pair: pair[0])
    if len(numbered) < 2:
        raise NoPreviousRevision(
            f'no rollout history found for deployment "{name}": there is no previous revision '
            "to roll back to"
        )
    return numbered[-2][1]


def _plan_to(d: dict[str, Any], target: dict[str, Any], explicit: int | None) -> RollbackPlan:
    meta = d["metadata"]
    name = meta["name"]
    if d["spec"].get("paused"):
        raise DeploymentPaused(
            "you cannot rollback a paused deployment; resume it first with "
            f"'kubectl rollout resume deployment/{name}' and try again"
        )
    target_number = revision_of(target) or 0
    if templates_equal(target["spec"]["template"], d["spec"]["template"]):
        shown = explicit if explicit is not None else target_number
        raise AlreadyAtRevision(
            f"skipped rollback (current template already matches revision {shown})"
        )
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k in ROLLBACK_SKIPPED_ANNOTATIONS
    }
    for k, v in (target["metadata"].get("annotations") or {}).items():
        if k not in ROLLBACK_SKIPPED_ANNOTATIONS:
            annotations[k] = v
    current = revision_of(d)
    return RollbackPlan(
        namespace=meta["namespace"],
        deployment=name,
        current_revision=current,
        target_revision=target_number,
        current_images=images_of(d["spec"]["template"]),
        target_images=images_of(target["spec"]["template"]),
        target_replicaset=target["metadata"]["name"],
        resource_version=meta["resourceVersion"],
        template=without_hash(target["spec"]["template"]),
        annotations=annotations,
        current_template=copy.deepcopy(d["spec"]["template"]),
    )


def plan_rollback(
    api: ApiClient,
    namespace: str,
    name: str,
    to_revision: int | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> RollbackPlan:
    """Reads only; refuses exactly where kubectl would (paused, no history, already there)."""
    d = read_deployment(api, namespace, name, "plan a rollback of", timeout_s)
    rss = owned_replicasets(api, d, "plan a rollback of", timeout_s)
    return _plan_to(d, _pick_target(name, rss, to_revision), to_revision)


def _replan(api: ApiClient, plan: RollbackPlan, timeout_s: float) -> RollbackPlan:
    """After a 409: same target ReplicaSet, fresh resourceVersion, unless the template moved."""
    d = read_deployment(api, plan.namespace, plan.deployment, "roll back", timeout_s)
    if not templates_equal(d["spec"]["template"], plan.current_template):
        raise ConcurrentChange(
            f"{plan.namespace}/{plan.deployment} was changed by someone else after the rollback "
            f"was planned (images now {images_of(d['spec']['template'])}, planned from "
            f"{plan.current_images}). Nothing was rolled back; plan again."
        )
    rss = owned_replicasets(api, d, "roll back", timeout_s)
    target = next((rs for rs in rss if rs["metadata"]["name"] == plan.target_replicaset), None)
    if target is None:
        raise RevisionNotFound(
            f"revision {plan.target_revision} ({plan.target_replicaset}) disappeared from the "
            "history while rolling back"
        )
    return _plan_to(d, target, None)


def apply_rollback(
    api: ApiClient, plan: RollbackPlan, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> ChangeResult:
    """The JSON patch `kubectl rollout undo` sends, guarded by the planned resourceVersion."""
    try:
        return _send_rollback(api, plan, timeout_s)
    except Conflict:
        fresh = _replan(api, plan, timeout_s)
        return _send_rollback(api, fresh, timeout_s)


def _send_rollback(api: ApiClient, plan: RollbackPlan, timeout_s: float) -> ChangeResult:
    patch = [
        {"op": "replace", "path": "/spec/template", "value": plan.template},
        {"op": "replace", "path": "/metadata/annotations", "value": plan.annotations},
        # a resourceVersion in the patched object is an optimistic-lock precondition
        {"op": "replace", "path": "/metadata/resourceVersion", "value": plan.resource_version},
    ]
    target = Target("Deployment", plan.deployment, plan.namespace, "roll back")
    d = call(
        api,
        apps(api).patch_namespaced_deployment,
        target,
        plan.deployment,
        plan.namespace,
        patch,
        _content_type="application/json-patch+json",
        timeout_s=timeout_s,
    )
    return ChangeResult(
        namespace=plan.namespace,
        deployment=plan.deployment,
        action="rollback",
        generation=int(d["metadata"].get("generation") or 0),
        resource_version=d["metadata"]["resourceVersion"],
        images=images_of(d["spec"]["template"]),
        replicas=int(d["spec"].get("replicas") or 0),
        message=f"deployment.apps/{plan.deployment} rolled back to revision {plan.target_revision}",
    )


__all__ = ["apply_rollback", "history", "plan_rollback"]
