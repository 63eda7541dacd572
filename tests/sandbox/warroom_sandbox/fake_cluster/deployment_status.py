"""Deployment status and conditions (calculateStatus + syncRolloutStatus), which is exactly
what `kubectl rollout status` and warroom's rollout follower read."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from warroom_sandbox.fake_cluster.meta import parse_timestamp, timestamp
from warroom_sandbox.fake_cluster.rollout_math import (
    spec_replicas,
    status_count,
    surge_and_unavailable,
)

TIMED_OUT = "ProgressDeadlineExceeded"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"


def condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def new_condition(now: datetime, kind: str, ok: bool, reason: str, message: str) -> dict[str, Any]:
    stamp = timestamp(now)
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def set_condition(status: dict[str, Any], new: dict[str, Any]) -> None:
    """deploymentutil.SetDeploymentCondition: same status+reason is a no-op."""
    current = condition(status, new["type"])
    if current and current["status"] == new["status"] and current.get("reason") == new["reason"]:
        return
    if current and current["status"] == new["status"]:
        new["lastTransitionTime"] = current["lastTransitionTime"]
    others = [c for c in status.get("conditions") or [] if c.get("type") != new["type"]]
    status["conditions"] = [*others, new]


def has_deadline(d: dict[str, Any]) -> bool:
    deadline = d["spec"].get("progressDeadlineSeconds")
    return deadline is not None and deadline != 2**31 - 1


def is_complete(d: dict[str, Any], status: dict[str, Any]) -> bool:
    desired = d["spec"].get("replicas", 1)
    return (
        status.get("updatedReplicas", 0) == desired
        and status.get("replicas", 0) == desired
        and status.get("availableReplicas", 0) == desired
        and status.get("observedGeneration", 0) >= d["metadata"].get("generation", 1)
    )


def _made_progress(old: dict[str, Any], new: dict[str, Any]) -> bool:
    old_leftovers = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_leftovers = new["replicas"] - new["updatedReplicas"]
    return (
        new["updatedReplicas"] > old.get("updatedReplicas", 0)
        or new_leftovers < old_leftovers
        or new["readyReplicas"] > old.get("readyReplicas", 0)
        or new["availableReplicas"] > old.get("availableReplicas", 0)
    )


def _timed_out(d: dict[str, Any], status: dict[str, Any], now: datetime) -> bool:
    cond = condition(status, "Progressing")
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_timestamp(cond.get("lastUpdateTime"))
    if since is None:
        return False
    return since + timedelta(seconds=int(d["spec"]["progressDeadlineSeconds"])) < now


def calculate_status(
    d: dict[str, Any],
    all_rss: list[dict[str, Any]],
    new_rs: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    old = d.get("status") or {}
    desired = d["spec"].get("replicas", 1)
    _, max_unavailable = surge_and_unavailable(d)
    available = sum(status_count(rs, "availableReplicas") for rs in all_rss)
    counts = {
        "observedGeneration": d["metadata"].get("generation", 1),
        "replicas": sum(status_count(rs, "replicas") for rs in all_rss),
        "updatedReplicas": status_count(new_rs, "replicas") if new_rs else 0,
        "readyReplicas": sum(status_count(rs, "readyReplicas") for rs in all_rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, sum(spec_replicas(rs) for rs in all_rss) - available),
    }
    # int32 fields with omitempty vanish at zero, so clients must treat absent as 0
    status: dict[str, Any] = {k: v for k, v in counts.items() if v}
    status["conditions"] = copy.deepcopy(old.get("conditions") or [])
    if "collisionCount" in old:
        status["collisionCount"] = old["collisionCount"]

    if available >= desired - max_unavailable:
        available_cond = new_condition(
            now,
            "Available",
            True,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    else:
        available_cond = new_condition(
            now,
            "Available",
            False,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    set_condition(status, available_cond)

    current = condition(old, "Progressing")
    complete_already = (
        counts["replicas"] == counts["updatedReplicas"]
        and current is not None
        and current.get("reason") == NEW_RS_AVAILABLE
    )
    rs_name = new_rs["metadata"]["name"] if new_rs else None
    subject = f'ReplicaSet "{rs_name}"' if rs_name else f'Deployment "{d["metadata"]["name"]}"'
    if not has_deadline(d):
        status["conditions"] = [c for c in status["conditions"] if c["type"] != "Progressing"]
    elif not d["spec"].get("paused") and not complete_already:
        if is_complete(d, counts):
            set_condition(
                status,
                new_condition(
                    now,
                    "Progressing",
                    True,
                    NEW_RS_AVAILABLE,
                    f"{subject} has successfully progressed.",
                ),
            )
        elif _made_progress(old, counts):
            # progress refreshes lastUpdateTime even with an unchanged reason
            cond = new_condition(now, "Progressing", True, RS_UPDATED, f"{subject} is progressing.")
            if current is not None and current["status"] == "True":
                cond["lastTransitionTime"] = current["lastTransitionTime"]
            status["conditions"] = [c for c in status["conditions"] if c["type"] != "Progressing"]
            status["conditions"].append(cond)
        elif _timed_out(d, status, now):
            set_condition(
                status,
                new_condition(
                    now, "Progressing", False, TIMED_OUT, f"{subject} has timed out progressing."
                ),
            )
    return status
