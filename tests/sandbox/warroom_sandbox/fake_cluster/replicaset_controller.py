"""The ReplicaSet controller: keeps each ReplicaSet's pod count and status in line."""

from __future__ import annotations

from typing import Any

from warroom_sandbox.fake_cluster.events import EventRecorder
from warroom_sandbox.fake_cluster.meta import is_controlled_by
from warroom_sandbox.fake_cluster.pods import PodSimulator, pod_is_ready
from warroom_sandbox.fake_cluster.rollout_math import spec_replicas
from warroom_sandbox.fake_cluster.store import ObjectStore


class ReplicaSetController:
    def __init__(self, store: ObjectStore, pods: PodSimulator, events: EventRecorder) -> None:
        self.store = store
        self.pods = pods
        self.events = events

    def sync(self, rs: dict[str, Any]) -> None:
        ns = rs["metadata"]["namespace"]
        pods = [p for p in self.store.list("pods", ns) if is_controlled_by(p, rs)]
        want = spec_replicas(rs)
        if len(pods) < want:
            for _ in range(want - len(pods)):
                pod = self.store.put("pods", self.pods.build_pod(rs))
                pods.append(pod)
                self._event(rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        elif len(pods) > want:
            pods = self._delete_extra(rs, pods, len(pods) - want)

        ready = 0
        for pod in pods:
            refreshed = self.pods.refresh(pod)
            if refreshed["status"] != pod["status"]:
                self.store.put("pods", refreshed)
            ready += pod_is_ready(refreshed)
        counts = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,  # minReadySeconds is not simulated
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        status = {k: v for k, v in counts.items() if v or k == "replicas"}
        current = self.store.get("replicasets", ns, rs["metadata"]["name"])
        if current is not None and current.get("status") != status:
            current["status"] = status
            self.store.put("replicasets", current)

    def _delete_extra(
        self, rs: dict[str, Any], pods: list[dict[str, Any]], count: int
    ) -> list[dict[str, Any]]:
        # unready pods go first, then the youngest, like the real ranking
        newest_first = sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)
        doomed = sorted(newest_first, key=pod_is_ready)[:count]
        for pod in doomed:
            self.store.delete("pods", rs["metadata"]["namespace"], pod["metadata"]["name"])
            self.pods.forget(pod)
            self._event(rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
        gone = {p["metadata"]["uid"] for p in doomed}
        return [p for p in pods if p["metadata"]["uid"] not in gone]

    def _event(self, rs: dict[str, Any], reason: str, message: str) -> None:
        self.events.record(rs, "Normal", reason, message, component="replicaset-controller")
