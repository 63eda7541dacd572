"""Deployment and ReplicaSet controllers, condensed from kube-controller-manager.

Kept faithful where kubectl reads the results: which ReplicaSet is "new", revision numbers
(reused ReplicaSets jump to max+1 and remember old numbers in revision-history), annotation
copying, rolling-update arithmetic, and the Available/Progressing conditions.
"""

from __future__ import annotations

import copy
from typing import Any

from warroom_sandbox.fake_cluster.deployment_status import (
    FOUND_NEW_RS,
    NEW_RS_CREATED,
    calculate_status,
    condition,
    has_deadline,
    is_complete,
    new_condition,
    set_condition,
)
from warroom_sandbox.fake_cluster.events import EventRecorder
from warroom_sandbox.fake_cluster.meta import (
    ClockLike,
    is_controlled_by,
    new_uid,
    owner_reference,
    timestamp,
)
from warroom_sandbox.fake_cluster.pods import PodSimulator
from warroom_sandbox.fake_cluster.replicaset_controller import ReplicaSetController
from warroom_sandbox.fake_cluster.rollout_math import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    REV_HISTORY_LIMIT_CHARS,
    REVISION,
    REVISION_HISTORY,
    SKIP_COPY,
    revision_of,
    spec_replicas,
    status_count,
    surge_and_unavailable,
)
from warroom_sandbox.fake_cluster.store import ObjectStore
from warroom_sandbox.fake_cluster.templates import POD_TEMPLATE_HASH, template_hash, templates_equal

MAX_PASSES = 60


def _by_creation(rss: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        rss, key=lambda r: (r["metadata"].get("creationTimestamp", ""), r["metadata"]["name"])
    )


class DeploymentController:
    def __init__(
        self, store: ObjectStore, clock: ClockLike, pods: PodSimulator, events: EventRecorder
    ) -> None:
        self.store = store
        self.clock = clock
        self.pods = pods
        self.events = events
        self.replicasets = ReplicaSetController(store, pods, events)

    def _now(self) -> str:
        return timestamp(self.clock.now())

    def _new_condition(self, kind: str, ok: bool, reason: str, message: str) -> dict[str, Any]:
        return new_condition(self.clock.now(), kind, ok, reason, message)

    def reconcile(self) -> None:
        """Runs both controllers until nothing changes (pods can't become ready mid-pass)."""
        with self.store.lock:
            for _ in range(MAX_PASSES):
                before = self.store.resource_version
                self._collect_garbage()
                for deployment in self.store.list("deployments"):
                    self._sync_deployment(deployment)
                for rs in self.store.list("replicasets"):
                    self.replicasets.sync(rs)
                if self.store.resource_version == before:
                    return

    # ---- garbage collection -------------------------------------------------------------

    def _collect_garbage(self) -> None:
        for resource, owner_resource in (("replicasets", "deployments"), ("pods", "replicasets")):
            owners = {o["metadata"]["uid"] for o in self.store.list(owner_resource)}
            for obj in self.store.list(resource):
                refs = obj["metadata"].get("ownerReferences") or []
                if refs and not any(ref.get("uid") in owners for ref in refs):
                    self.store.delete(
                        resource, obj["metadata"]["namespace"], obj["metadata"]["name"]
                    )
                    if resource == "pods":
                        self.pods.forget(obj)

    # ---- deployment controller ----------------------------------------------------------

    def _owned_replicasets(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        ns = deployment["metadata"]["namespace"]
        return [rs for rs in self.store.list("replicasets", ns) if is_controlled_by(rs, deployment)]

    def _sync_deployment(self, d: dict[str, Any]) -> None:
        if d["metadata"].get("deletionTimestamp"):
            return
        rss = self._owned_replicasets(d)
        template = d["spec"]["template"]
        new_rs = next(
            (rs for rs in _by_creation(rss) if templates_equal(rs["spec"]["template"], template)),
            None,
        )
        old_rss = [
            rs for rs in rss if new_rs is None or rs["metadata"]["uid"] != new_rs["metadata"]["uid"]
        ]
        new_revision = max((revision_of(rs) for rs in old_rss), default=0) + 1
        paused = bool(d["spec"].get("paused"))

        if new_rs is None:
            if paused:
                self._sync_status(d, rss, None)
                return
            new_rs, d = self._create_replicaset(d, old_rss, new_revision)
        else:
            new_rs, d = self._adopt_existing_new_rs(d, new_rs, new_revision)

        all_rss = [*old_rss, new_rs]
        if not paused:
            if self._strategy(d) == "Recreate":
                self._recreate(d, new_rs, old_rss)
            else:
                self._rolling(d, new_rs, old_rss)
            all_rss = self._owned_replicasets(d)
            new_rs = next(r for r in all_rss if r["metadata"]["uid"] == new_rs["metadata"]["uid"])
            old_rss = [r for r in all_rss if r["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        d = self.store.get("deployments", d["metadata"]["namespace"], d["metadata"]["name"]) or d
        if is_complete(d, d.get("status") or {}):
            self._cleanup_history(d, old_rss)
        self._sync_status(d, all_rss, new_rs)

    @staticmethod
    def _strategy(d: dict[str, Any]) -> str:
        return (d["spec"].get("strategy") or {}).get("type", "RollingUpdate")

    def _create_replicaset(
        self, d: dict[str, Any], old_rss: list[dict[str, Any]], revision: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
        desired = d["spec"].get("replicas", 1)
        surge, _ = surge_and_unavailable(d)
        collisions = (d.get("status") or {}).get("collisionCount", 0)
        while True:
            pod_hash = template_hash(d["spec"]["template"], collisions)
            rs_name = f"{name}-{pod_hash}"
            clash = self.store.get("replicasets", ns, rs_name)
            if clash is None:
                break
            collisions += 1  # same name, different template: real controller bumps collisionCount

        template = copy.deepcopy(d["spec"]["template"])
        template["metadata"].setdefault("labels", {})[POD_TEMPLATE_HASH] = pod_hash
        selector = copy.deepcopy(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})[POD_TEMPLATE_HASH] = pod_hash
        annotations = {
            k: v for k, v in (d["metadata"].get("annotations") or {}).items() if k not in SKIP_COPY
        }
        annotations[REVISION] = str(revision)
        annotations[DESIRED_REPLICAS] = str(desired)
        annotations[MAX_REPLICAS] = str(desired + surge)

        if self._strategy(d) == "Recreate":
            replicas = 0 if any(spec_replicas(rs) for rs in old_rss) else desired
        else:
            current = sum(spec_replicas(rs) for rs in old_rss)
            replicas = max(0, min(desired + surge - current, desired))
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name,
                "namespace": ns,
                "uid": new_uid(),
                "generation": 1,
                "creationTimestamp": self._now(),
                "labels": dict(template["metadata"]["labels"]),
                "annotations": annotations,
                "ownerReferences": [owner_reference(d)],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": template},
            "status": {"replicas": 0},
        }
        if d["spec"].get("minReadySeconds"):
            rs["spec"]["minReadySeconds"] = d["spec"]["minReadySeconds"]
        rs = self.store.put("replicasets", rs)
        if replicas:
            self._scaling_event(d, rs_name, 0, replicas)

        status = copy.deepcopy(d.get("status") or {})
        if collisions:
            status["collisionCount"] = collisions
        set_condition(
            status,
            self._new_condition(
                "Progressing", True, NEW_RS_CREATED, f'Created new replica set "{rs_name}"'
            ),
        )
        d = self._write_deployment(d, status=status, revision=str(revision))
        return rs, d

    def _adopt_existing_new_rs(
        self, d: dict[str, Any], rs: dict[str, Any], new_revision: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """SetNewReplicaSetAnnotations for a ReplicaSet that already matches (e.g. a rollback)."""
        updated = copy.deepcopy(rs)
        annotations = updated["metadata"].setdefault("annotations", {})
        for k, v in (d["metadata"].get("annotations") or {}).items():
            if k not in SKIP_COPY:
                annotations[k] = v
        old_revision = annotations.get(REVISION)
        old_int = int(old_revision) if old_revision and old_revision.isdigit() else 0
        if old_int < new_revision:
            annotations[REVISION] = str(new_revision)
            if old_revision:
                history = annotations.get(REVISION_HISTORY, "")
                parts = [p for p in history.split(",") if p]
                parts.append(old_revision)
                while len(",".join(parts)) > REV_HISTORY_LIMIT_CHARS:
                    parts.pop(0)
                annotations[REVISION_HISTORY] = ",".join(parts)
        min_ready = d["spec"].get("minReadySeconds")
        if min_ready:
            updated["spec"]["minReadySeconds"] = min_ready
        else:
            updated["spec"].pop("minReadySeconds", None)
        if updated != rs:
            rs = self.store.put("replicasets", updated)

        status = copy.deepcopy(d.get("status") or {})
        if condition(status, "Progressing") is None and has_deadline(d):
            set_condition(
                status,
                self._new_condition(
                    "Progressing",
                    True,
                    FOUND_NEW_RS,
                    f'Found new replica set "{rs["metadata"]["name"]}"',
                ),
            )
        d = self._write_deployment(d, status=status, revision=annotations[REVISION])
        return rs, d

    def _write_deployment(
        self, d: dict[str, Any], *, status: dict[str, Any], revision: str
    ) -> dict[str, Any]:
        current = self.store.get("deployments", d["metadata"]["namespace"], d["metadata"]["name"])
        if current is None:
            return d
        updated = copy.deepcopy(current)
        updated["metadata"].setdefault("annotations", {})[REVISION] = revision
        updated["status"] = status
        if updated == current:
            return current
        return self.store.put("deployments", updated)

    def _scale(self, d: dict[str, Any], rs: dict[str, Any], replicas: int) -> dict[str, Any]:
        current = self.store.get("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
        if current is None:
            return rs
        before = spec_replicas(current)
        if before == replicas:
            return current
        desired = d["spec"].get("replicas", 1)
        surge, _ = surge_and_unavailable(d)
        current["spec"]["replicas"] = replicas
        current["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        annotations = current["metadata"].setdefault("annotations", {})
        annotations[DESIRED_REPLICAS] = str(desired)
        annotations[MAX_REPLICAS] = str(desired + surge)
        stored = self.store.put("replicasets", current)
        self._scaling_event(d, current["metadata"]["name"], before, replicas)
        return stored

    def _scaling_event(self, d: dict[str, Any], rs_name: str, before: int, after: int) -> None:
        direction = "up" if after > before else "down"
        self.events.record(
            d,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled {direction} replica set {rs_name} from {before} to {after}",
            component="deployment-controller",
        )

    def _recreate(
        self, d: dict[str, Any], new_rs: dict[str, Any], old_rss: list[dict[str, Any]]
    ) -> None:
        active_old = [rs for rs in old_rss if spec_replicas(rs) > 0]
        for rs in active_old:
            self._scale(d, rs, 0)
        if active_old or any(status_count(rs, "replicas") for rs in old_rss):
            return
        self._scale(d, new_rs, d["spec"].get("replicas", 1))

    def _rolling(
        self, d: dict[str, Any], new_rs: dict[str, Any], old_rss: list[dict[str, Any]]
    ) -> None:
        desired = d["spec"].get("replicas", 1)
        surge, max_unavailable = surge_and_unavailable(d)
        all_rss = [*old_rss, new_rs]

        # reconcileNewReplicaSet
        current_new = spec_replicas(new_rs)
        if current_new > desired:
            new_rs = self._scale(d, new_rs, desired)
        elif current_new < desired:
            total = sum(spec_replicas(rs) for rs in all_rss)
            room = desired + surge - total
            if room > 0:
                new_rs = self._scale(d, new_rs, current_new + min(room, desired - current_new))
        all_rss = [*old_rss, new_rs]

        # reconcileOldReplicaSets
        if sum(spec_replicas(rs) for rs in old_rss) == 0:
            return
        all_pods = sum(spec_replicas(rs) for rs in all_rss)
        min_available = desired - max_unavailable
        new_unavailable = spec_replicas(new_rs) - status_count(new_rs, "availableReplicas")
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return
        cleaned = 0
        refreshed_old: list[dict[str, Any]] = []
        for rs in _by_creation(old_rss):
            replicas, available = spec_replicas(rs), status_count(rs, "availableReplicas")
            if cleaned < max_scaled_down and replicas and replicas != available:
                step = min(max_scaled_down - cleaned, replicas - available)
                rs = self._scale(d, rs, replicas - step)
                cleaned += step
            refreshed_old.append(rs)
        available_all = sum(
            status_count(rs, "availableReplicas") for rs in [*refreshed_old, new_rs]
        )
        to_scale_down = available_all - min_available
        scaled_down = 0
        for rs in refreshed_old:
            if scaled_down >= to_scale_down:
                break
            replicas = spec_replicas(rs)
            if replicas == 0:
                continue
            step = min(replicas, to_scale_down - scaled_down)
            self._scale(d, rs, replicas - step)
            scaled_down += step

    def _cleanup_history(self, d: dict[str, Any], old_rss: list[dict[str, Any]]) -> None:
        limit = d["spec"].get("revisionHistoryLimit")
        if limit is None:
            return
        excess = len(old_rss) - int(limit)
        if excess <= 0:
            return
        for rs in sorted(old_rss, key=revision_of)[:excess]:
            if spec_replicas(rs) or status_count(rs, "replicas"):
                continue
            self.store.delete("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _sync_status(
        self, d: dict[str, Any], all_rss: list[dict[str, Any]], new_rs: dict[str, Any] | None
    ) -> None:
        status = calculate_status(d, all_rss, new_rs, self.clock.now())
        if status == (d.get("status") or {}):
            return
        current = self.store.get("deployments", d["metadata"]["namespace"], d["metadata"]["name"])
        if current is not None:
            current["status"] = status
            self.store.put("deployments", current)
