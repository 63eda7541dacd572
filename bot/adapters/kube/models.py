"""Plain results handed to the rest of warroom; no client-library types leak past this package."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


def _images_text(images: dict[str, str]) -> str:
    return ", ".join(f"{name}={image}" for name, image in images.items())


@dataclass(frozen=True)
class Revision:
    number: int
    images: dict[str, str]  # container name -> image, in pod-spec order
    change_cause: str | None
    created: datetime | None
    is_current: bool
    replicaset: str
    replicas: int


@dataclass(frozen=True)
class RollbackPlan:
    namespace: str
    deployment: str
    current_revision: int | None
    target_revision: int
    current_images: dict[str, str]
    target_images: dict[str, str]
    target_replicaset: str
    resource_version: str
    # what apply writes, exactly as `kubectl rollout undo` would
    template: dict[str, Any] = field(repr=False)
    annotations: dict[str, str] = field(repr=False)
    current_template: dict[str, Any] = field(repr=False)

    @property
    def summary(self) -> str:
        return (
            f"Roll back {self.namespace}/{self.deployment} from revision "
            f"{self.current_revision} ({_images_text(self.current_images)}) to revision "
            f"{self.target_revision} ({_images_text(self.target_images)})"
        )


@dataclass(frozen=True)
class SetImagePlan:
    namespace: str
    deployment: str
    container: str
    current_image: str
    new_image: str
    current_revision: int | None
    resource_version: str
    containers: tuple[str, ...]  # all container names, for $setElementOrder

    @property
    def summary(self) -> str:
        return (
            f"Set image of container {self.container} in {self.namespace}/{self.deployment}: "
            f"{self.current_image} -> {self.new_image}"
        )


@dataclass(frozen=True)
class ScalePlan:
    namespace: str
    deployment: str
    current_replicas: int
    new_replicas: int
    resource_version: str

    @property
    def summary(self) -> str:
        return (
            f"Scale {self.namespace}/{self.deployment} from {self.current_replicas} to "
            f"{self.new_replicas} replicas"
        )


@dataclass(frozen=True)
class RestartPlan:
    namespace: str
    deployment: str
    restarted_at: str
    current_revision: int | None
    resource_version: str
    current_template: dict[str, Any] = field(repr=False)

    @property
    def summary(self) -> str:
        return f"Restart all pods of {self.namespace}/{self.deployment} (rolling)"


@dataclass(frozen=True)
class ChangeResult:
    """What the API server accepted; pass `generation` on to follow_rollout."""

    namespace: str
    deployment: str
    action: str
    generation: int
    resource_version: str
    images: dict[str, str]
    replicas: int
    message: str


@dataclass(frozen=True)
class RolloutProgress:
    message: str
    done: bool
    desired: int
    updated: int
    available: int
    total: int


RolloutState = Literal["complete", "failed", "timed_out"]


@dataclass(frozen=True)
class RolloutOutcome:
    state: RolloutState
    message: str
    elapsed_s: float
    revision: int | None
    last: RolloutProgress | None

    @property
    def ok(self) -> bool:
        return self.state == "complete"


@dataclass(frozen=True)
class Condition:
    status: bool
    reason: str | None
    message: str | None


@dataclass(frozen=True)
class PodIssue:
    pod: str
    container: str | None
    reason: str  # CrashLoopBackOff, ImagePullBackOff, ErrImagePull, NotReady, Pending, ...
    restarts: int
    message: str | None


@dataclass(frozen=True)
class WarningEvent:
    object: str  # e.g. "Pod/api-7d9c-x2x"
    reason: str
    message: str
    count: int
    last_seen: datetime | None


@dataclass(frozen=True)
class DeploymentHealth:
    namespace: str
    name: str
    desired: int
    ready: int
    available: int
    updated: int
    unavailable: int
    revision: int | None
    images: dict[str, str]
    rollout: Literal["complete", "progressing", "failed"]
    rollout_message: str
    conditions: dict[str, Condition]
    pod_issues: list[PodIssue]
    warnings: list[WarningEvent]

    @property
    def healthy(self) -> bool:
        return self.rollout == "complete" and self.available >= self.desired and not self.pod_issues

    @property
    def summary(self) -> str:
        lines = [
            f"{self.namespace}/{self.name}: {self.available}/{self.desired} available, "
            f"{self.updated} up to date, revision {self.revision} ({_images_text(self.images)})",
            f"rollout: {self.rollout_message}",
        ]
        for issue in self.pod_issues:
            where = f" ({issue.container})" if issue.container else ""
            lines.append(f"pod {issue.pod}{where}: {issue.reason}, {issue.restarts} restarts")
        for event in self.warnings:
            lines.append(f"{event.object} {event.reason}: {event.message} (x{event.count})")
        return "\n".join(lines)
