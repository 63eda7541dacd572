"""Legacy (non-aggregated) discovery documents; kubectl falls back to these by itself."""

from __future__ import annotations

from typing import Any

from warroom_sandbox.fake_cluster.resources import ALL, GROUP_VERSIONS

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-fake",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T00:00:00Z",
    "goVersion": "go1.23.3",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _groups() -> list[str]:
    return sorted({rt.group for rt in ALL if rt.group})


def api_group(group: str) -> dict[str, Any] | None:
    versions = sorted({rt.version for rt in ALL if rt.group == group})
    if not versions:
        return None
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": entries,
        "preferredVersion": entries[0],
    }


def api_group_list() -> dict[str, Any]:
    groups = []
    for group in _groups():
        doc = api_group(group)
        if doc:
            groups.append({k: v for k, v in doc.items() if k not in ("kind", "apiVersion")})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(group_version: str) -> dict[str, Any] | None:
    types = GROUP_VERSIONS.get(group_version)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for rt in types:
        entry: dict[str, Any] = {
            "name": rt.name,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.group == "apps":
            entry["categories"] = ["all"]
        resources.append(entry)
        for sub, (group, version, kind) in rt.subresources.items():
            resources.append(
                {
                    "name": f"{rt.name}/{sub}",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "group": group,
                    "version": version,
                    "kind": kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }
