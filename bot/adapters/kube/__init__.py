"""warroom's Kubernetes adapter: read history and health, plan and apply runbook changes.

Every change is two steps, plan (read-only, shown to a human) then apply (the exact patch
kubectl would send, guarded by the planned resourceVersion). All results are plain
dataclasses; all failures are KubeError subclasses with messages fit for Slack.
"""

from bot.adapters.kube.aio import follow_rollout_async, in_thread, threaded
from bot.adapters.kube.changes import (
    apply_restart,
    apply_scale,
    apply_set_image,
    plan_restart,
    plan_scale,
    plan_set_image,
)
from bot.adapters.kube.client import DEFAULT_TIMEOUT_S, load_api_client
from bot.adapters.kube.errors import (
    AlreadyAtRevision,
    AmbiguousContainer,
    ApiFailure,
    ConcurrentChange,
    Conflict,
    ContainerNotFound,
    DeploymentPaused,
    KubeError,
    NoPreviousRevision,
    NothingToChange,
    ObjectNotFound,
    PermissionDenied,
    RequestTimeout,
    RevisionNotFound,
    RolloutRefused,
    Unauthorized,
    Unreachable,
)
from bot.adapters.kube.health import deployment_health
from bot.adapters.kube.models import (
    ChangeResult,
    Condition,
    DeploymentHealth,
    PodIssue,
    RestartPlan,
    Revision,
    RollbackPlan,
    RolloutOutcome,
    RolloutProgress,
    ScalePlan,
    SetImagePlan,
    WarningEvent,
)
from bot.adapters.kube.revisions import apply_rollback, history, plan_rollback
from bot.adapters.kube.rollout import follow_rollout, rollout_status

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "AlreadyAtRevision",
    "AmbiguousContainer",
    "ApiFailure",
    "ChangeResult",
    "ConcurrentChange",
    "Condition",
    "Conflict",
    "ContainerNotFound",
    "DeploymentHealth",
    "DeploymentPaused",
    "KubeError",
    "NoPreviousRevision",
    "NothingToChange",
    "ObjectNotFound",
    "PermissionDenied",
    "PodIssue",
    "RequestTimeout",
    "RestartPlan",
    "Revision",
    "RevisionNotFound",
    "RollbackPlan",
    "RolloutOutcome",
    "RolloutProgress",
    "RolloutRefused",
    "ScalePlan",
    "SetImagePlan",
    "Unauthorized",
    "Unreachable",
    "WarningEvent",
    "apply_restart",
    "apply_rollback",
    "apply_scale",
    "apply_set_image",
    "deployment_health",
    "follow_rollout",
    "follow_rollout_async",
    "history",
    "in_thread",
    "load_api_client",
    "plan_restart",
    "plan_rollback",
    "plan_scale",
    "plan_set_image",
    "rollout_status",
    "threaded",
]
