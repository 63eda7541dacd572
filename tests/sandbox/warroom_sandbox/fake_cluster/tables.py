"""Server-side printing (meta.k8s.io/v1 Table), which is what `kubectl get` asks for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from warroom_sandbox.fake_cluster.meta import parse_timestamp
from warroom_sandbox.fake_cluster.resources import ResourceType

TABLE_MEDIA = "as=Table"

Column = tuple[str, str, int]  # (name, type, priority)

COLUMNS: dict[str, list[Column]] = {
    "deployments": [
        ("Name", "string", 0),
        ("Ready", "string", 0),
        ("Up-to-date", "integer", 0),
        ("Available", "integer", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ],
    "replicasets": [
        ("Name", "string", 0),
        ("Desired", "integer", 0),
        ("Current", "integer", 0),
        ("Ready", "integer", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ],
    "pods": [
        ("Name", "string", 0),
        ("Ready", "string", 0),
        ("Status", "string", 0),
        ("Restarts", "string", 0),
        ("Age", "string", 0),
        ("IP", "string", 1),
        ("Node", "string", 1),
    ],
    "events": [
        ("Last Seen", "string", 0),
        ("Type", "string", 0),
        ("Reason", "string", 0),
        ("Object", "string", 0),
        ("Message", "string", 0),
        ("Count", "integer", 1),
    ],
    "namespaces": [("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)],
}


def _age(text: str | None) -> str:
    moment = parse_timestamp(text)
    if moment is None:
        return "<unknown>"
    seconds = max(0, int((datetime.now(UTC) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2 or (unit == "m" and seconds >= 120):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _containers(spec: dict[str, Any]) -> tuple[str, str]:
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(c["name"] for c in containers), ",".join(c.get("image", "") for c in containers)


def _selector(spec: dict[str, Any]) -> str:
    labels = (spec.get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _pod_status(pod: dict[str, Any]) -> str:
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            reason = state["terminated"].get("reason") or "Terminated"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _cells(resource: str, obj: dict[str, Any]) -> list[Any]:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    age = _age(meta.get("creationTimestamp"))
    if resource == "deployments":
        names, images = _containers(spec)
        ready = f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}"
        return [
            meta["name"],
            ready,
            status.get("updatedReplicas", 0),
            status.get("availableReplicas", 0),
            age,
            names,
            images,
            _selector(spec),
        ]
    if resource == "replicasets":
        names, images = _containers(spec)
        return [
            meta["name"],
            spec.get("replicas", 0),
            status.get("replicas", 0),
            status.get("readyReplicas", 0),
            age,
            names,
            images,
            _selector(spec),
        ]
    if resource == "pods":
        statuses = status.get("containerStatuses") or []
        ready = f"{sum(1 for c in statuses if c.get('ready'))}/{len(spec.get('containers') or [])}"
        restarts = str(sum(c.get("restartCount", 0) for c in statuses))
        return [
            meta["name"],
            ready,
            _pod_status(obj),
            restarts,
            age,
            status.get("podIP", "<none>"),
            spec.get("nodeName", "<none>"),
        ]
    if resource == "events":
        involved = obj.get("involvedObject") or {}
        return [
            _age(obj.get("lastTimestamp")),
            obj.get("type", ""),
            obj.get("reason", ""),
            f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
            obj.get("message", ""),
            obj.get("count", 1),
        ]
    return [meta["name"], status.get("phase", "Active"), age]


def as_table(rt: ResourceType, obj: dict[str, Any], include_object: str | None) -> dict[str, Any]:
    items = obj["items"] if "items" in obj else [obj]
    columns = COLUMNS.get(rt.name, [("Name", "string", 0)])
    rows = []
    for item in items:
        if include_object == "None":
            embedded: Any = None
        elif include_object == "Object":
            embedded = {"apiVersion": rt.api_version, "kind": rt.kind, **item}
        else:
            embedded = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": item["metadata"],
            }
        rows.append({"cells": _cells(rt.name, item)[: len(columns)], "object": embedded})
    table: dict[str, Any] = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion", "")},
        "columnDefinitions": [
            {
                "name": name,
                "type": kind,
                "format": "name" if name == "Name" else "",
                "description": name,
                "priority": priority,
            }
            for name, kind, priority in columns
        ],
        "rows": rows,
    }
    return table
