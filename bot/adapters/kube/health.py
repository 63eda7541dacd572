"""A Deployment's health as an incident responder wants it: counts, bad pods, recent warnings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubernetes.client import ApiClient

from bot.adapters.kube.client import DEFAULT_TIMEOUT_S, Target, call, core
from bot.adapters.kube.models import Condition, DeploymentHealth, PodIssue, WarningEvent
from bot.adapters.kube.objects import (
    images_of,
    owned_replicasets,
    parse_time,
    read_deployment,
    revision_of,
    selector_string,
)
from bot.adapters.kube.rollout import rollout_status

ACTION = "check the health of"
_EPOCH = datetime.min.replace(tzinfo=UTC)


def _pod_issue(pod: dict[str, Any]) -> PodIssue | None:
    """The most telling reason a pod is not serving, or None if it is fine."""
    status = pod.get("status") or {}
    name = pod["metadata"]["name"]
    statuses = status.get("containerStatuses") or []
    restarts = sum(int(cs.get("restartCount") or 0) for cs in statuses)
    for cs in statuses:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
            return PodIssue(name, cs["name"], waiting["reason"], restarts, waiting.get("message"))
        terminated = (cs.get("state") or {}).get("terminated")
        if terminated:
            reason = terminated.get("reason") or "Terminated"
            return PodIssue(name, cs["name"], reason, restarts, terminated.get("message"))
    if status.get("phase") in ("Failed", "Unknown"):
        return PodIssue(
            name, None, status.get("reason") or status["phase"], restarts, status.get("message")
        )
    unready = [cs for cs in statuses if not cs.get("ready")]
    if status.get("phase") == "Pending" or not statuses:
        return PodIssue(name, None, "Pending", restarts, status.get("message"))
    if unready:
        return PodIssue(name, unready[0]["name"], "NotReady", restarts, None)
    return None


def deployment_health(
    api: ApiClient,
    namespace: str,
    name: str,
    *,
    max_events: int = 5,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> DeploymentHealth:
    d = read_deployment(api, namespace, name, ACTION, timeout_s)
    rss = owned_replicasets(api, d, ACTION, timeout_s)
    rs_uids = {rs["metadata"]["uid"] for rs in rss}
    pods = (
        call(
            api,
            core(api).list_namespaced_pod,
            Target("Pod", None, namespace, ACTION),
            namespace,
            label_selector=selector_string(d["spec"].get("selector")),
            timeout_s=timeout_s,
        ).get("items")
        or []
    )
    pods = [
        p
        for p in pods
        if any(r.get("uid") in rs_uids for r in p["metadata"].get("ownerReferences") or [])
    ]
    events = (
        call(
            api,
            core(api).list_namespaced_event,
            Target("Event", None, namespace, ACTION),
            namespace,
            field_selector="type=Warning",
            timeout_s=timeout_s,
        ).get("items")
        or []
    )

    related = {("Deployment", name)}
    related |= {("ReplicaSet", rs["metadata"]["name"]) for rs in rss}
    related |= {("Pod", p["metadata"]["name"]) for p in pods}
    warnings = []
    for event in events:
        involved = event.get("involvedObject") or {}
        if (involved.get("kind"), involved.get("name")) not in related:
            continue
        seen = parse_time(
            event.get("lastTimestamp")
            or event.get("eventTime")
            or event["metadata"].get("creationTimestamp")
        )
        warnings.append(
            WarningEvent(
                object=f"{involved.get('kind')}/{involved.get('name')}",
                reason=event.get("reason") or "",
                message=event.get("message") or "",
                count=int(event.get("count") or 1),
                last_seen=seen,
            )
        )
    warnings.sort(key=lambda w: w.last_seen or _EPOCH, reverse=True)

    status = d.get("status") or {}
    verdict = rollout_status(d)
    rollout = "complete" if verdict.progress.done else "failed" if verdict.failed else "progressing"
    conditions = {
        c["type"]: Condition(c.get("status") == "True", c.get("reason"), c.get("message"))
        for c in status.get("conditions") or []
    }
    issues = [issue for issue in (_pod_issue(p) for p in pods) if issue is not None]
    issues.sort(key=lambda i: (-i.restarts, i.pod))
    return DeploymentHealth(
        namespace=namespace,
        name=name,
        desired=int(d["spec"].get("replicas", 1)),
        ready=int(status.get("readyReplicas") or 0),
        available=int(status.get("availableReplicas") or 0),
        updated=int(status.get("updatedReplicas") or 0),
        unavailable=int(status.get("unavailableReplicas") or 0),
        revision=revision_of(d),
        images=images_of(d["spec"]["template"]),
        rollout=rollout,
        rollout_message=verdict.progress.message,
        conditions=conditions,
        pod_issues=issues,
        warnings=warnings[:max_events],
    )
