"""The resource types the fake API server knows, shared by routing, discovery and errors."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ResourceType:
    name: str
    singular: str
    kind: str
    group: str
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = (
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    )
    # subresource name -> (group, version, kind) as discovery reports it
    subresources: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """Resource names in real error messages carry the group: `deployments.apps`."""
        return f"{self.name}.{self.group}" if self.group else self.name


NAMESPACES = ResourceType(
    "namespaces",
    "namespace",
    "Namespace",
    "",
    "v1",
    False,
    ("ns",),
    ("create", "delete", "get", "list", "patch", "update", "watch"),
)
PODS = ResourceType("pods", "pod", "Pod", "", "v1", True, ("po",))
EVENTS = ResourceType("events", "event", "Event", "", "v1", True, ("ev",))
DEPLOYMENTS = ResourceType(
    "deployments",
    "deployment",
    "Deployment",
    "apps",
    "v1",
    True,
    ("deploy",),
    subresources={"scale": ("autoscaling", "v1", "Scale"), "status": ("apps", "v1", "Deployment")},
)
REPLICASETS = ResourceType(
    "replicasets",
    "replicaset",
    "ReplicaSet",
    "apps",
    "v1",
    True,
    ("rs",),
    subresources={"status": ("apps", "v1", "ReplicaSet")},
)

ALL: tuple[ResourceType, ...] = (NAMESPACES, PODS, EVENTS, DEPLOYMENTS, REPLICASETS)
GROUP_VERSIONS: dict[str, list[ResourceType]] = {}
for _rt in ALL:
    GROUP_VERSIONS.setdefault(_rt.api_version, []).append(_rt)


def lookup(group: str, version: str, name: str) -> ResourceType | None:
    for rt in ALL:
        if rt.group == group and rt.version == version and rt.name == name:
            return rt
    return None
