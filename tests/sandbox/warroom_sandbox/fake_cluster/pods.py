"""Simulated kubelet: pod statuses and kubelet events driven by image rules and the clock.

An image matching a rule in `image_behaviour` (fnmatch pattern -> behaviour) misbehaves the
way real workloads do; everything else becomes Ready `rollout_delay` seconds after creation.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
from datetime import datetime, timedelta
from typing import Any

from warroom_sandbox.fake_cluster.events import NODE_NAME, EventRecorder
from warroom_sandbox.fake_cluster.meta import (
    ClockLike,
    new_uid,
    owner_reference,
    parse_timestamp,
    random_suffix,
    timestamp,
)

READY = "Ready"
CRASH_LOOP = "CrashLoopBackOff"
IMAGE_PULL = "ImagePullBackOff"
NEVER_READY = "NeverReady"
BEHAVIOURS = (READY, CRASH_LOOP, IMAGE_PULL, NEVER_READY)


def _crash_restarts(elapsed: float) -> tuple[int, int]:
    """Restart count and current back-off under kubelet's doubling back-off (10s..300s)."""
    restarts, spent, backoff = 1, 0.0, 10
    while spent + backoff <= elapsed and restarts < 10_000:
        spent += backoff
        restarts += 1
        backoff = min(backoff * 2, 300)
    return restarts, backoff


def _image_ref(image: str) -> str:
    return image if "/" in image.split(":")[0] else f"docker.io/library/{image}"


class PodSimulator:
    def __init__(self, clock: ClockLike, events: EventRecorder) -> None:
        self.clock = clock
        self.events = events
        self.image_behaviour: dict[str, str] = {}
        self.rollout_delay: float = 0.0
        # sub-second birth times; creationTimestamp only has whole seconds
        self._born: dict[str, datetime] = {}

    def behaviour_for(self, image: str) -> str:
        for pattern, behaviour in self.image_behaviour.items():
            if fnmatch.fnmatchcase(image, pattern):
                if behaviour not in BEHAVIOURS:
                    raise ValueError(f"unknown behaviour {behaviour!r}; use one of {BEHAVIOURS}")
                return behaviour
        return READY

    def build_pod(self, rs: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        template = copy.deepcopy(rs["spec"]["template"])
        meta = template.get("metadata") or {}
        name = f"{rs['metadata']['name']}-{random_suffix()}"
        uid = new_uid()
        self._born[uid] = now
        spec = template.get("spec") or {}
        spec.setdefault("serviceAccountName", "default")
        spec["nodeName"] = NODE_NAME
        pod: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "generateName": f"{rs['metadata']['name']}-",
                "namespace": rs["metadata"]["namespace"],
                "uid": uid,
                "creationTimestamp": timestamp(now),
                "labels": dict(meta.get("labels") or {}),
                "ownerReferences": [owner_reference(rs)],
            },
            "spec": spec,
            "status": {},
        }
        if meta.get("annotations"):
            pod["metadata"]["annotations"] = dict(meta["annotations"])
        return pod

    def forget(self, pod: dict[str, Any]) -> None:
        self._born.pop(pod["metadata"]["uid"], None)

    def refresh(self, pod: dict[str, Any]) -> dict[str, Any]:
        """The pod with its status recomputed for now; records kubelet events on the way."""
        now = self.clock.now()
        meta = pod["metadata"]
        born = self._born.get(meta["uid"]) or parse_timestamp(meta.get("creationTimestamp")) or now
        age = (now - born).total_seconds()
        started = born + timedelta(seconds=self.rollout_delay)
        starting = age < self.rollout_delay

        if not pod["status"].get("conditions"):
            self.events.record(
                pod,
                "Normal",
                "Scheduled",
                f"Successfully assigned {meta['namespace']}/{meta['name']} to {NODE_NAME}",
                component="default-scheduler",
            )

        statuses, unready, phase = [], [], "Running"
        for container in pod["spec"].get("containers") or []:
            status, ready, pending = self._container(pod, container, age, started, starting)
            statuses.append(status)
            if not ready:
                unready.append(container["name"])
            if pending:
                phase = "Pending"

        ts_born, ts_started = timestamp(born), timestamp(started if not starting else born)
        ready = not unready
        not_ready_msg = f"containers with unready status: [{' '.join(unready)}]"

        def cond(kind: str, ok: bool, when: str) -> dict[str, Any]:
            c: dict[str, Any] = {
                "type": kind,
                "status": "True" if ok else "False",
                "lastProbeTime": None,
                "lastTransitionTime": when,
            }
            if not ok and kind in ("Ready", "ContainersReady"):
                c["reason"] = "ContainersNotReady"
                c["message"] = not_ready_msg
            return c

        ip_seed = hashlib.sha256(meta["uid"].encode()).digest()
        new_status = {
            "phase": phase,
            "conditions": [
                cond("PodReadyToStartContainers", not starting, ts_started),
                cond("Initialized", True, ts_born),
                cond("Ready", ready, ts_started),
                cond("ContainersReady", ready, ts_started),
                cond("PodScheduled", True, ts_born),
            ],
            "hostIP": "10.0.0.10",
            "hostIPs": [{"ip": "10.0.0.10"}],
            "podIP": f"10.244.{ip_seed[0]}.{ip_seed[1]}",
            "podIPs": [{"ip": f"10.244.{ip_seed[0]}.{ip_seed[1]}"}],
            "startTime": ts_born,
            "containerStatuses": statuses,
            "qosClass": "BestEffort",
        }
        refreshed = copy.deepcopy(pod)
        refreshed["status"] = new_status
        return refreshed

    def _container(
        self,
        pod: dict[str, Any],
        container: dict[str, Any],
        age: float,
        started: datetime,
        starting: bool,
    ) -> tuple[dict[str, Any], bool, bool]:
        """(containerStatus, ready, keeps pod Pending)."""
        name, image = container["name"], container["image"]
        meta = pod["metadata"]
        behaviour = self.behaviour_for(image)
        digest = hashlib.sha256(image.encode()).hexdigest()
        base: dict[str, Any] = {
            "name": name,
            "image": image,
            "imageID": f"{_image_ref(image).split(':')[0]}@sha256:{digest}",
            "containerID": "containerd://"
            + hashlib.sha256((meta["uid"] + name).encode()).hexdigest(),
            "ready": False,
            "started": False,
            "restartCount": 0,
            "lastState": {},
        }
        field_path = f"spec.containers{{{name}}}"
        if starting:
            base.update(imageID="", containerID=None)
            base["state"] = {"waiting": {"reason": "ContainerCreating"}}
            return _drop_none(base), False, True

        if behaviour == IMAGE_PULL:
            ref = _image_ref(image)
            base.update(imageID="", containerID=None)
            base["state"] = {
                "waiting": {"reason": IMAGE_PULL, "message": f'Back-off pulling image "{image}"'}
            }
            attempts = 1 + int(max(age - self.rollout_delay, 0) // 30)
            record = self.events.record
            record(
                pod,
                "Normal",
                "Pulling",
                f'Pulling image "{image}"',
                field_path=field_path,
                count=attempts,
            )
            record(
                pod,
                "Warning",
                "Failed",
                f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to '
                f'pull and unpack image "{ref}": failed to resolve reference "{ref}": '
                f"{ref}: not found",
                field_path=field_path,
                count=attempts,
            )
            record(
                pod,
                "Warning",
                "Failed",
                "Error: ErrImagePull",
                field_path=field_path,
                count=attempts,
            )
            record(
                pod,
                "Normal",
                "BackOff",
                f'Back-off pulling image "{image}"',
                field_path=field_path,
                count=attempts,
            )
            record(
                pod,
                "Warning",
                "Failed",
                "Error: ImagePullBackOff",
                field_path=field_path,
                count=attempts,
            )
            return _drop_none(base), False, True

        self._record_start(pod, container, field_path)
        if behaviour == CRASH_LOOP:
            restarts, backoff = _crash_restarts(age - self.rollout_delay)
            base["restartCount"] = restarts
            base["state"] = {
                "waiting": {
                    "reason": CRASH_LOOP,
                    "message": f"back-off {backoff}s restarting failed container={name} "
                    f"pod={meta['name']}_{meta['namespace']}({meta['uid']})",
                }
            }
            base["lastState"] = {
                "terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": timestamp(started),
                    "finishedAt": timestamp(started),
                    "containerID": base["containerID"],
                }
            }
            self.events.record(
                pod,
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {name} in pod "
                f"{meta['name']}_{meta['namespace']}({meta['uid']})",
                field_path=field_path,
                count=restarts,
            )
            return base, False, False

        base["started"] = True
        base["state"] = {"running": {"startedAt": timestamp(started)}}
        if behaviour == NEVER_READY:
            probes = 1 + int(max(age - self.rollout_delay, 0) // 10)
            self.events.record(
                pod,
                "Warning",
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                field_path=field_path,
                count=probes,
            )
            return base, False, False
        base["ready"] = True
        return base, True, False

    def _record_start(self, pod: dict[str, Any], container: dict[str, Any], path: str) -> None:
        name, image = container["name"], container["image"]
        record = self.events.record
        record(
            pod,
            "Normal",
            "Pulled",
            f'Container image "{image}" already present on machine',
            field_path=path,
            count=1,
        )
        record(pod, "Normal", "Created", f"Created container: {name}", field_path=path, count=1)
        record(pod, "Normal", "Started", f"Started container {name}", field_path=path, count=1)


def _drop_none(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


def pod_is_ready(pod: dict[str, Any]) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False
