"""FakeCluster: the in-memory cluster tests seed, steer (clock, image rules, faults) and read."""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from warroom_sandbox.fake_cluster.api_ops import ResourceApi
from warroom_sandbox.fake_cluster.controller import DeploymentController
from warroom_sandbox.fake_cluster.events import EventRecorder
from warroom_sandbox.fake_cluster.faults import Fault, FaultInjector
from warroom_sandbox.fake_cluster.meta import ClockLike
from warroom_sandbox.fake_cluster.pods import PodSimulator
from warroom_sandbox.fake_cluster.resources import DEPLOYMENTS, NAMESPACES
from warroom_sandbox.fake_cluster.store import ObjectStore

DEFAULT_USER = "system:serviceaccount:warroom:warroom-bot"


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: str
    content_type: str | None
    body: Any = field(default=None, compare=False)


class FakeCluster:
    def __init__(
        self,
        clock: ClockLike | None = None,
        *,
        user: str = DEFAULT_USER,
        token: str | None = None,
    ) -> None:
        self.clock: ClockLike = clock or Clock()
        self.user = user  # the identity named in Forbidden messages
        self.token = token  # when set, requests must carry this bearer token
        self.store = ObjectStore()
        self.events = EventRecorder(self.store, self.clock)
        self.pods = PodSimulator(self.clock, self.events)
        self.controller = DeploymentController(self.store, self.clock, self.pods, self.events)
        self.api = ResourceApi(self.store, self.clock, self.reconcile)
        self.faults = FaultInjector()
        self.requests: list[RequestRecord] = []
        self._requests_lock = threading.Lock()
        for name in ("default", "kube-system", "kube-public"):
            self.create_namespace(name)

    # ---- behaviour knobs ------------------------------------------------------------------

    @property
    def image_behaviour(self) -> dict[str, str]:
        """fnmatch pattern -> "CrashLoopBackOff" | "ImagePullBackOff" | "NeverReady" | "Ready"."""
        return self.pods.image_behaviour

    @property
    def rollout_delay(self) -> float:
        """Seconds a new pod takes to become ready."""
        return self.pods.rollout_delay

    @rollout_delay.setter
    def rollout_delay(self, seconds: float) -> None:
        self.pods.rollout_delay = seconds

    def reconcile(self) -> None:
        self.controller.reconcile()

    def advance(self, seconds: float) -> None:
        """Moves the clock (needs a clock with advance(), like bot.clock.Clock) and reconciles."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError("this cluster's clock cannot be advanced")
        advance(timedelta(seconds=seconds))
        self.reconcile()

    def inject_fault(
        self,
        method: str = "*",
        path: str = "*",
        status: int | None = 500,
        *,
        count: int | None = 1,
        hang_seconds: float = 0.0,
        message: str | None = None,
    ) -> Fault:
        return self.faults.add(Fault(method, path, status, count, hang_seconds, message))

    def record_request(self, record: RequestRecord) -> None:
        with self._requests_lock:
            self.requests.append(record)

    # ---- seeding ----------------------------------------------------------------------------

    def create_namespace(self, name: str) -> dict[str, Any]:
        existing = self.store.get(NAMESPACES.name, "", name)
        if existing is not None:
            return existing
        return self.api.create(NAMESPACES, "", {"metadata": {"name": name}})

    def create_deployment(
        self,
        namespace: str,
        name: str,
        image: str,
        replicas: int = 3,
        container: str = "app",
        labels: dict[str, str] | None = None,
        *,
        annotations: dict[str, str] | None = None,
        progress_deadline_seconds: int | None = None,
        strategy: dict[str, Any] | None = None,
        extra_containers: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A Deployment as `kubectl create deployment` would make it; the rollout then runs."""
        self.create_namespace(namespace)
        pod_labels = dict(labels or {"app": name})
        spec: dict[str, Any] = {
            "replicas": replicas,
            "selector": {"matchLabels": dict(pod_labels)},
            "template": {
                "metadata": {"labels": dict(pod_labels)},
                "spec": {
                    "containers": [
                        {"name": container, "image": image},
                        *copy.deepcopy(extra_containers or []),
                    ]
                },
            },
        }
        if progress_deadline_seconds is not None:
            spec["progressDeadlineSeconds"] = progress_deadline_seconds
        if strategy is not None:
            spec["strategy"] = strategy
        metadata: dict[str, Any] = {"name": name, "labels": dict(pod_labels)}
        if annotations:
            metadata["annotations"] = dict(annotations)
        body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}
        self.api.create(DEPLOYMENTS, namespace, body)
        return self.get("deployments", namespace, name)

    # ---- reading back -----------------------------------------------------------------------

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(resource, namespace, name)
        if obj is None:
            raise KeyError(f"{resource} {namespace}/{name}")
        return obj

    def deployment(self, namespace: str, name: str) -> dict[str, Any]:
        return self.get("deployments", namespace, name)

    def replicasets(self, namespace: str, deployment: str | None = None) -> list[dict[str, Any]]:
        """Optionally only those the named Deployment controls, oldest revision first."""
        items = self.store.list("replicasets", namespace)
        if deployment is not None:
            owner = self.deployment(namespace, deployment)["metadata"]["uid"]
            items = [
                rs
                for rs in items
                if any(r.get("uid") == owner for r in rs["metadata"].get("ownerReferences") or [])
            ]
        return sorted(
            items,
            key=lambda rs: int(
                (rs["metadata"].get("annotations") or {}).get(
                    "deployment.kubernetes.io/revision", 0
                )
            ),
        )

    def pods_of(self, namespace: str) -> list[dict[str, Any]]:
        return self.store.list("pods", namespace)

    def events_of(self, namespace: str) -> list[dict[str, Any]]:
        return self.store.list("events", namespace)

    def snapshot(self) -> dict[str, Any]:
        with self.store.lock:
            return {
                "resourceVersion": str(self.store.resource_version),
                "now": self.clock.now().isoformat(),
                **{
                    resource: self.store.list(resource)
                    for resource in ("namespaces", "deployments", "replicasets", "pods", "events")
                },
                "faults": [f.to_dict() for f in self.faults.active()],
                "imageBehaviour": dict(self.image_behaviour),
                "rolloutDelay": self.rollout_delay,
            }
