"""Server-side defaulting and validation, so stored objects look like a real cluster's."""

from __future__ import annotations

from typing import Any

from warroom_sandbox.fake_cluster.errors import invalid
from warroom_sandbox.fake_cluster.resources import DEPLOYMENTS, REPLICASETS, ResourceType
from warroom_sandbox.fake_cluster.selectors import label_selector_from_spec


def _image_pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def default_container(container: dict[str, Any]) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    if container.get("image"):
        container.setdefault("imagePullPolicy", _image_pull_policy(container["image"]))
    if container.get("resources") is None:
        container["resources"] = {}
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")


def default_pod_spec(spec: dict[str, Any]) -> None:
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            default_container(container)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    spec.setdefault("schedulerName", "default-scheduler")


def default_pod_template(template: dict[str, Any]) -> None:
    metadata = template.get("metadata")
    if not isinstance(metadata, dict):
        metadata = template["metadata"] = {}
    # the Go type serialises the zero time this way inside templates
    metadata["creationTimestamp"] = None
    spec = template.get("spec")
    if not isinstance(spec, dict):
        spec = template["spec"] = {}
    default_pod_spec(spec)


def default_deployment(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = spec.get("strategy") or {}
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate") or {}
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
        strategy["rollingUpdate"] = rolling
    spec["strategy"] = strategy
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    default_pod_template(spec.setdefault("template", {}))


def default_replicaset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    default_pod_template(spec.setdefault("template", {}))


def validate_workload(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Only the checks that catch the mistakes a bad patch is likely to make."""
    if rt not in (DEPLOYMENTS, REPLICASETS):
        return
    name = obj.get("metadata", {}).get("name", "")
    spec = obj.get("spec") or {}
    causes: list[tuple[str, str, str]] = []
    selector = spec.get("selector")
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(("FieldValueRequired", "spec.selector", "Required value"))
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if selector and not label_selector_from_spec(selector)(labels):
        causes.append(
            (
                "FieldValueInvalid",
                "spec.template.metadata.labels",
                f"Invalid value: {labels!r}: `selector` does not match template `labels`",
            )
        )
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        causes.append(
            (
                "FieldValueInvalid",
                "spec.replicas",
                f"Invalid value: {replicas}: must be greater than or equal to 0",
            )
        )
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    if not containers:
        causes.append(("FieldValueRequired", "spec.template.spec.containers", "Required value"))
    for i, container in enumerate(containers):
        for field in ("name", "image"):
            if not container.get(field):
                causes.append(
                    (
                        "FieldValueRequired",
                        f"spec.template.spec.containers[{i}].{field}",
                        "Required value",
                    )
                )
    if causes:
        raise invalid(rt.kind, rt, name, causes)


def check_immutable_selector(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
    old_sel = (old.get("spec") or {}).get("selector")
    new_sel = (new.get("spec") or {}).get("selector")
    if rt in (DEPLOYMENTS, REPLICASETS) and old_sel != new_sel:
        name = old.get("metadata", {}).get("name", "")
        raise invalid(
            rt.kind,
            rt,
            name,
            [
                (
                    "FieldValueInvalid",
                    "spec.selector",
                    f"Invalid value: {new_sel!r}: field is immutable",
                )
            ],
        )


__all__ = [
    "check_immutable_selector",
    "default_deployment",
    "default_pod_spec",
    "default_pod_template",
    "default_replicaset",
    "validate_workload",
]
