"""REST semantics of the fake API server: create/replace/patch/delete with real precondition,
generation and subresource rules, independent of HTTP so Python seeding goes the same way."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from warroom_sandbox.fake_cluster import errors
from warroom_sandbox.fake_cluster.defaults import (
    check_immutable_selector,
    default_deployment,
    default_pod_spec,
    default_replicaset,
    validate_workload,
)
from warroom_sandbox.fake_cluster.meta import ClockLike, new_uid, random_suffix, timestamp
from warroom_sandbox.fake_cluster.patching import apply_patch
from warroom_sandbox.fake_cluster.resources import (
    DEPLOYMENTS,
    NAMESPACES,
    PODS,
    REPLICASETS,
    ResourceType,
)
from warroom_sandbox.fake_cluster.selectors import (
    parse_field_selector,
    parse_label_selector,
    selector_string,
)
from warroom_sandbox.fake_cluster.store import ObjectStore
from warroom_sandbox.fake_cluster.templates import prune_empty

WITH_STATUS_SUBRESOURCE = {DEPLOYMENTS.name, REPLICASETS.name, PODS.name, NAMESPACES.name}
WITH_GENERATION = {DEPLOYMENTS.name, REPLICASETS.name}


class ResourceApi:
    def __init__(self, store: ObjectStore, clock: ClockLike, on_write: Callable[[], None]) -> None:
        self.store = store
        self.clock = clock
        self._on_write = on_write

    # ---- reads ------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(rt.name, namespace if rt.namespaced else "", name)
        if obj is None:
            raise errors.not_found(rt, name)
        return obj

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> dict[str, Any]:
        match_labels = parse_label_selector(label_selector)
        match_fields = parse_field_selector(field_selector)
        with self.store.lock:
            items = self.store.list(rt.name, namespace if rt.namespaced else None)
            rv = self.store.resource_version
        selected = []
        for obj in items:
            if match_labels(obj["metadata"].get("labels") or {}) and match_fields(obj):
                # list items carry no kind/apiVersion on a real server
                obj.pop("kind", None)
                obj.pop("apiVersion", None)
                selected.append(obj)
        return {
            "kind": f"{rt.kind}List",
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(rv)},
            "items": selected,
        }

    # ---- writes -----------------------------------------------------------------------------

    def create(
        self, rt: ResourceType, namespace: str, body: Any, dry_run: bool = False
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was not a JSON object")
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        with self.store.lock:
            if rt.namespaced:
                if meta.get("namespace") and meta["namespace"] != namespace:
                    raise errors.bad_request(
                        "the namespace of the provided object does not match the namespace "
                        "sent on the request"
                    )
                if self.store.get(NAMESPACES.name, "", namespace) is None:
                    raise errors.not_found(NAMESPACES, namespace)
                meta["namespace"] = namespace
            else:
                meta.pop("namespace", None)
            if not meta.get("name"):
                if not meta.get("generateName"):
                    raise errors.invalid(
                        rt.kind,
                        rt,
                        "",
                        [
                            (
                                "FieldValueRequired",
                                "metadata.name",
                                "name or generateName is required",
                            )
                        ],
                    )
                meta["name"] = meta["generateName"] + random_suffix()
            if self.store.get(rt.name, meta.get("namespace", ""), meta["name"]) is not None:
                raise errors.already_exists(rt, meta["name"])
            obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
            meta.pop("resourceVersion", None)
            meta["uid"] = new_uid()
            meta["creationTimestamp"] = timestamp(self.clock.now())
            if rt.name in WITH_GENERATION:
                meta["generation"] = 1
                obj["status"] = {}
            if rt is NAMESPACES:
                obj["spec"] = {"finalizers": ["kubernetes"]}
                obj["status"] = {"phase": "Active"}
                meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            self._default(rt, obj)
            validate_workload(rt, obj)
            if dry_run:
                return obj
            stored = self.store.put(rt.name, obj)
        self._on_write()
        return stored

    def replace(
        self, rt: ResourceType, namespace: str, name: str, body: Any, dry_run: bool = False
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was not a JSON object")
        with self.store.lock:
            current = self.get(rt, namespace, name)
            body_name = (body.get("metadata") or {}).get("name")
            if body_name and body_name != name:
                raise errors.bad_request(
                    f"the name of the object ({body_name}) does not match the name on "
                    f"the URL ({name})"
                )
            self._check_precondition(rt, current, body)
            return self._commit(rt, current, copy.deepcopy(body), dry_run)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        body: Any,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        with self.store.lock:
            current = self.get(rt, namespace, name)
            patched = apply_patch(current, content_type, body)
            # a resourceVersion carried by the patch is a precondition, as on a real server
            self._check_precondition(rt, current, patched)
            return self._commit(rt, current, patched, dry_run)

    def delete(
        self, rt: ResourceType, namespace: str, name: str, dry_run: bool = False
    ) -> dict[str, Any]:
        with self.store.lock:
            current = self.get(rt, namespace, name)
            if not dry_run:
                self.store.delete(rt.name, current["metadata"].get("namespace", ""), name)
                if rt is NAMESPACES:
                    for resource in ("deployments", "replicasets", "pods", "events"):
                        for obj in self.store.list(resource, name):
                            self.store.delete(resource, name, obj["metadata"]["name"])
        if not dry_run:
            self._on_write()
        details: dict[str, Any] = {"name": name, "kind": rt.name, "uid": current["metadata"]["uid"]}
        if rt.group:
            details["group"] = rt.group
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        }

    # ---- scale subresource ------------------------------------------------------------------

    def get_scale(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        return self._as_scale(self.get(rt, namespace, name))

    def replace_scale(
        self, rt: ResourceType, namespace: str, name: str, body: Any, dry_run: bool = False
    ) -> dict[str, Any]:
        with self.store.lock:
            current = self.get(rt, namespace, name)
            return self._set_replicas(rt, current, body, dry_run)

    def patch_scale(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        body: Any,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        with self.store.lock:
            current = self.get(rt, namespace, name)
            patched = apply_patch(self._as_scale(current), content_type, body)
            return self._set_replicas(rt, current, patched, dry_run)

    # ---- status subresource -----------------------------------------------------------------

    def replace_status(
        self, rt: ResourceType, namespace: str, name: str, body: Any, dry_run: bool = False
    ) -> dict[str, Any]:
        with self.store.lock:
            current = self.get(rt, namespace, name)
            self._check_precondition(rt, current, body)
            updated = copy.deepcopy(current)
            updated["status"] = copy.deepcopy((body or {}).get("status") or {})
            return updated if dry_run else self.store.put(rt.name, updated)

    def patch_status(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        body: Any,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        with self.store.lock:
            current = self.get(rt, namespace, name)
            patched = apply_patch(current, content_type, body)
            return self.replace_status(rt, namespace, name, patched, dry_run)

    # ---- internals --------------------------------------------------------------------------

    @staticmethod
    def _check_precondition(
        rt: ResourceType, current: dict[str, Any], body: dict[str, Any]
    ) -> None:
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and str(wanted) != current["metadata"]["resourceVersion"]:
            raise errors.conflict(rt, current["metadata"]["name"])

    def _default(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt is DEPLOYMENTS:
            default_deployment(obj)
        elif rt is REPLICASETS:
            default_replicaset(obj)
        elif rt is PODS:
            default_pod_spec(obj.setdefault("spec", {}))

    def _commit(
        self, rt: ResourceType, current: dict[str, Any], obj: dict[str, Any], dry_run: bool
    ) -> dict[str, Any]:
        """The update path shared by PUT and PATCH once preconditions passed."""
        meta = obj.setdefault("metadata", {})
        for field in (
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "generation",
            "resourceVersion",
        ):
            if field in current["metadata"]:
                meta[field] = current["metadata"][field]
            else:
                meta.pop(field, None)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if rt.name in WITH_STATUS_SUBRESOURCE:
            if "status" in current:
                obj["status"] = copy.deepcopy(current["status"])
            else:
                obj.pop("status", None)
        self._default(rt, obj)
        validate_workload(rt, obj)
        check_immutable_selector(rt, current, obj)
        if rt.name in WITH_GENERATION and prune_empty(obj.get("spec")) != prune_empty(
            current.get("spec")
        ):
            meta["generation"] = current["metadata"].get("generation", 1) + 1
        if obj == current or dry_run:
            return obj  # a no-op update does not write, so resourceVersion stays
        stored = self.store.put(rt.name, obj)
        self._on_write()
        return stored

    def _as_scale(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"],
                "creationTimestamp": meta["creationTimestamp"],
            },
            "spec": {"replicas": obj["spec"].get("replicas", 1)},
            "status": {
                "replicas": (obj.get("status") or {}).get("replicas", 0),
                "selector": selector_string(obj["spec"].get("selector")),
            },
        }

    def _set_replicas(
        self, rt: ResourceType, current: dict[str, Any], scale: Any, dry_run: bool
    ) -> dict[str, Any]:
        if not isinstance(scale, dict):
            raise errors.bad_request("the body of the request was not a JSON object")
        self._check_precondition(rt, current, scale)
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.invalid(
                "Scale",
                rt,
                current["metadata"]["name"],
                [
                    (
                        "FieldValueInvalid",
                        "spec.replicas",
                        f"Invalid value: {replicas!r}: must be greater than or equal to 0",
                    )
                ],
            )
        updated = copy.deepcopy(current)
        updated["spec"]["replicas"] = replicas
        return self._as_scale(self._commit(rt, current, updated, dry_run))
