"""A Deployment's rollouts as `kubectl rollout history` shows them (one per numbered
ReplicaSet), with the evidence of when a re-used ReplicaSet rolled out again.

Two reads (the Deployment, its ReplicaSets), synchronous like the rest of the adapter: call
it through `in_thread`. The picking and wording live in `incident.changes`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubernetes.client import ApiClient

from bot.adapters.kube.client import DEFAULT_TIMEOUT_S
from bot.adapters.kube.objects import (
    CHANGE_CAUSE,
    REVISION_HISTORY,
    current_replicaset,
    images_of,
    owned_replicasets,
    parse_time,
    read_deployment,
    revision_of,
)
from incident.changes import RevisionFact, Rollout, rollouts_of

ACTION = "read the rollouts of"


def _earlier_numbers(rs: dict[str, Any]) -> tuple[int, ...]:
    raw = (rs["metadata"].get("annotations") or {}).get(REVISION_HISTORY) or ""
    out = []
    for part in raw.split(","):
        part = part.strip()
        if part.isascii() and part.isdigit():
            out.append(int(part))
    return tuple(out)


def _newest(times: list[datetime | None]) -> datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _reuse_evidence(
    rs: dict[str, Any], deployment: dict[str, Any], is_current: bool
) -> datetime | None:
    """When a re-used ReplicaSet was last written (its managedFields), and, for the current
    one, the Deployment's Progressing condition's lastUpdateTime when it names this
    ReplicaSet. Both may be later than the rollout (a scale also writes the ReplicaSet), which
    is the documented limitation: "when" is then the newest write we can see."""
    times: list[datetime | None] = [
        parse_time(entry.get("time")) for entry in rs["metadata"].get("managedFields") or []
    ]
    if is_current:
        name = rs["metadata"]["name"]
        for cond in (deployment.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Progressing" and f'"{name}"' in (cond.get("message") or ""):
                times.append(parse_time(cond.get("lastUpdateTime")))
    return _newest(times)


def revision_facts(deployment: dict[str, Any], rss: list[dict[str, Any]]) -> list[RevisionFact]:
    current = current_replicaset(deployment, rss)
    facts = []
    for rs in rss:
        number = revision_of(rs)
        if number is None:
            continue
        meta = rs["metadata"]
        is_current = current is not None and meta["uid"] == current["metadata"]["uid"]
        earlier = _earlier_numbers(rs)
        facts.append(
            RevisionFact(
                number=number,
                images=images_of(rs["spec"]["template"]),
                change_cause=(meta.get("annotations") or {}).get(CHANGE_CAUSE),
                created=parse_time(meta.get("creationTimestamp")),
                is_current=is_current,
                earlier_numbers=earlier,
                reused_at=_reuse_evidence(rs, deployment, is_current) if earlier else None,
            )
        )
    return facts


def rollouts(
    api: ApiClient,
    cluster: str | None,
    namespace: str,
    deployment: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[Rollout]:
    """Every revision of the Deployment as a rollout, oldest first. KubeError on failure."""
    d = read_deployment(api, namespace, deployment, ACTION, timeout_s)
    rss = owned_replicasets(api, d, ACTION, timeout_s)
    return rollouts_of(cluster, namespace, deployment, revision_facts(d, rss))


__all__ = ["revision_facts", "rollouts"]
