"""Just enough OpenAPI v3 for kubectl to see that the server validates fields itself
(`fieldValidation` on PATCH), so `kubectl create/apply` need no client-side schemas."""

from __future__ import annotations

from typing import Any

from warroom_sandbox.fake_cluster.resources import GROUP_VERSIONS

_HASH = "fake0000000000000000000000000000"


def _gv_path(group_version: str) -> str:
    return f"api/{group_version}" if "/" not in group_version else f"apis/{group_version}"


def openapi_v3_root() -> dict[str, Any]:
    return {
        "paths": {
            _gv_path(gv): {"serverRelativeURL": f"/openapi/v3/{_gv_path(gv)}?hash={_HASH}"}
            for gv in GROUP_VERSIONS
        }
    }


def openapi_v3_document(path: str) -> dict[str, Any] | None:
    for gv, types in GROUP_VERSIONS.items():
        if _gv_path(gv) != path.strip("/"):
            continue
        paths: dict[str, Any] = {}
        for rt in types:
            gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
            params = [
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
            ]
            ops = {
                "patch": {
                    "operationId": f"patch{rt.kind}",
                    "parameters": params,
                    "x-kubernetes-group-version-kind": gvk,
                    "responses": {"200": {"description": "OK"}},
                },
                "put": {
                    "operationId": f"replace{rt.kind}",
                    "parameters": params,
                    "x-kubernetes-group-version-kind": gvk,
                    "responses": {"200": {"description": "OK"}},
                },
            }
            prefix = f"/{_gv_path(gv)}"
            if rt.namespaced:
                prefix += "/namespaces/{namespace}"
            paths[f"{prefix}/{rt.name}/{{name}}"] = ops
            paths[f"{prefix}/{rt.name}"] = {
                "post": {
                    "operationId": f"create{rt.kind}",
                    "parameters": params,
                    "x-kubernetes-group-version-kind": gvk,
                    "responses": {"201": {"description": "Created"}},
                }
            }
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.32.0-fake"},
            "paths": paths,
            "components": {"schemas": {}},
        }
    return None
