"""Reading Deployments and ReplicaSets the way kubectl's deployment utilities do."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from kubernetes.client import ApiClient

from bot.adapters.kube.client import DEFAULT_TIMEOUT_S, Target, apps, call

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
POD_TEMPLATE_HASH = "pod-template-hash"
# kubectl rollout undo keeps these from the Deployment and never copies them from the RS
ROLLBACK_SKIPPED_ANNOTATIONS = frozenset(
    {
        LAST_APPLIED,
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        "deprecated.deployment.rollback.to",
    }
)


def read_deployment(
    api: ApiClient, namespace: str, name: str, action: str, timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[str, Any]:
    target = Target("Deployment", name, namespace, action)
    return call(
        api, apps(api).read_namespaced_deployment, target, name, namespace, timeout_s=timeout_s
    )


def selector_string(selector: dict[str, Any] | None) -> str:
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op, key = expr.get("operator"), expr.get("key")
        values = ",".join(expr.get("values") or [])
        if op in ("In", "NotIn"):
            parts.append(f"{key} {op.lower()} ({values})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def owned_replicasets(
    api: ApiClient, deployment: dict[str, Any], action: str, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[dict[str, Any]]:
    """Selector match *and* controller ownerReference, as deploymentutil.GetAllReplicaSets."""
    meta = deployment["metadata"]
    target = Target("ReplicaSet", None, meta["namespace"], action)
    listing = call(
        api,
        apps(api).list_namespaced_replica_set,
        target,
        meta["namespace"],
        label_selector=selector_string(deployment["spec"].get("selector")),
        timeout_s=timeout_s,
    )
    owned = []
    for rs in listing.get("items") or []:
        for ref in rs["metadata"].get("ownerReferences") or []:
            if ref.get("controller") and ref.get("uid") == meta["uid"]:
                owned.append(rs)
    return owned


def revision_of(obj: dict[str, Any]) -> int | None:
    value = (obj["metadata"].get("annotations") or {}).get(REVISION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def images_of(template: dict[str, Any]) -> dict[str, str]:
    containers = (template.get("spec") or {}).get("containers") or []
    return {c["name"]: c.get("image", "") for c in containers}


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def without_hash(template: dict[str, Any]) -> dict[str, Any]:
    clone = copy.deepcopy(template)
    labels = (clone.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    return clone


def templates_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """EqualIgnoreHash: unset and empty fields are the same thing to the Go types."""
    return _prune(without_hash(a)) == _prune(without_hash(b))


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def current_replicaset(
    deployment: dict[str, Any], replicasets: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """FindNewReplicaSet: the oldest ReplicaSet whose template matches the Deployment's."""
    ordered = sorted(
        replicasets,
        key=lambda rs: (rs["metadata"].get("creationTimestamp") or "", rs["metadata"]["name"]),
    )
    template = deployment["spec"].get("template") or {}
    return next((rs for rs in ordered if templates_equal(rs["spec"]["template"], template)), None)
