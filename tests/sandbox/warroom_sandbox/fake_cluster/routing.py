"""Turns a URL + method into what RBAC would see: verb, resource, namespace, name, subresource."""

from __future__ import annotations

from dataclasses import dataclass

from warroom_sandbox.fake_cluster.resources import ResourceType, lookup


@dataclass(frozen=True)
class RequestInfo:
    group: str
    version: str
    resource: ResourceType | None  # None: the group-version root (discovery)
    namespace: str | None
    name: str | None
    subresource: str | None
    verb: str


def _verb(method: str, name: str | None, watch: bool) -> str:
    method = method.upper()
    if method == "GET":
        if name:
            return "get"
        return "watch" if watch else "list"
    return {
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if name else "deletecollection",
    }.get(method, method.lower())


def parse(method: str, path: str, watch: bool = False) -> RequestInfo | None:
    """None for paths outside /api and /apis (version, openapi, ...)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api" and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return RequestInfo(group, version, None, None, None, None, _verb(method, None, watch))

    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        candidate = lookup(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    rt = lookup(group, version, rest[0])
    if rt is None:
        return RequestInfo(group, version, None, namespace, None, None, _verb(method, None, watch))
    name = rest[1] if len(rest) >= 2 else None
    subresource = rest[2] if len(rest) >= 3 else None
    return RequestInfo(group, version, rt, namespace, name, subresource, _verb(method, name, watch))
