"""Is the service's Deployment fully available, and are any of its pods in trouble.

The Kubernetes API call itself is injected (`bot.adapters.kube.deployment_health` wired with a
client per context), so this module only decides what the answer means.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from bot.adapters.catalog.model import Service
from bot.adapters.checks.base import Stopwatch
from bot.adapters.checks.reasons import plain_reason
from incident.checks import CheckResult, CheckStatus

CHECK_NAME = "kubernetes"
MAX_PODS_NAMED = 3


class DeploymentHealthLike(Protocol):
    """What the check reads from ``bot.kube.DeploymentHealth``."""

    @property
    def desired(self) -> int: ...

    @property
    def available(self) -> int: ...

    @property
    def rollout(self) -> str: ...  # "complete" | "progressing" | "failed"

    @property
    def rollout_message(self) -> str: ...

    @property
    def pod_issues(self) -> Sequence[Any]: ...  # PodIssue: pod, reason, restarts

    @property
    def warnings(self) -> Sequence[Any]: ...  # WarningEvent: object, reason, message, count


# (context, namespace, deployment) -> health; sync callables are run in a worker thread.
DeploymentHealthFn = Callable[
    [str | None, str, str], DeploymentHealthLike | Awaitable[DeploymentHealthLike]
]


async def check_deployment(
    service: str,
    *,
    context: str | None,
    namespace: str,
    deployment: str,
    deployment_health: DeploymentHealthFn,
) -> CheckResult:
    watch = Stopwatch()
    where = {"context": context, "namespace": namespace, "deployment": deployment}
    try:
        health = await _call(deployment_health, context, namespace, deployment)
    except Exception as exc:
        return CheckResult(service, CHECK_NAME, CheckStatus.FAIL, _api_reason(exc), watch.ms, where)
    status, reason, details = judge_deployment(health)
    return CheckResult(service, CHECK_NAME, status, reason, watch.ms, {**where, **details})


def judge_deployment(health: DeploymentHealthLike) -> tuple[CheckStatus, str, dict[str, Any]]:
    """No pod available or a failed rollout is a FAIL; partly available, troubled pods or
    warning events are a WARN."""
    desired, available = int(health.desired), int(health.available)
    pods = [_describe_pod(p) for p in health.pod_issues]
    warnings = [_describe_warning(w) for w in health.warnings]
    details: dict[str, Any] = {
        "desired": desired,
        "available": available,
        "rollout": health.rollout,
        "problem_pods": pods,
        "warnings": warnings,
    }

    if desired == 0:
        status, reason = CheckStatus.WARN, "scaled to 0"
    elif available == 0:
        status, reason = CheckStatus.FAIL, f"0/{desired} available"
    elif health.rollout == "failed":
        status, reason = CheckStatus.FAIL, f"{available}/{desired} available"
    elif available < desired or pods or warnings:
        status, reason = CheckStatus.WARN, f"{available}/{desired} available"
    else:
        status, reason = CheckStatus.OK, f"{available}/{desired} available"

    if health.rollout == "failed":
        reason += f"; rollout failed: {health.rollout_message}"
    if pods:
        named = ", ".join(pods[:MAX_PODS_NAMED])
        extra = len(pods) - MAX_PODS_NAMED
        reason += f"; pods: {named}" + (f" and {extra} more" if extra > 0 else "")
    if warnings:
        reason += f"; {warnings[0]}" + (f" (+{len(warnings) - 1})" if len(warnings) > 1 else "")
    return status, reason, details


async def _call(
    fn: DeploymentHealthFn, context: str | None, namespace: str, deployment: str
) -> DeploymentHealthLike:
    if inspect.iscoroutinefunction(fn):
        return await fn(context, namespace, deployment)
    answer = await asyncio.to_thread(fn, context, namespace, deployment)
    if inspect.isawaitable(answer):
        return await answer
    return answer


def _describe_pod(issue: Any) -> str:
    restarts = int(getattr(issue, "restarts", 0) or 0)
    tail = f" ({restarts} restarts)" if restarts else ""
    return f"{issue.pod} {issue.reason}{tail}"


def _describe_warning(event: Any) -> str:
    count = int(getattr(event, "count", 1) or 1)
    times = f" ×{count}" if count > 1 else ""
    return f"{event.object} {event.reason}: {event.message}{times}"


def _api_reason(exc: Exception) -> str:
    # kubernetes.client ApiException's str() is a multi-line dump; status and reason say it.
    status, why = getattr(exc, "status", None), getattr(exc, "reason", None)
    if isinstance(status, int) and why:
        return f"Kubernetes API {status} {why}"
    return plain_reason(exc)


class DeploymentChecker:
    name = CHECK_NAME

    def __init__(self, deployment_health: DeploymentHealthFn) -> None:
        self.deployment_health = deployment_health

    def applies_to(self, service: Service) -> bool:
        return service.kubernetes is not None

    async def check(self, service: Service) -> CheckResult:
        kube = service.kubernetes
        assert kube is not None
        return await check_deployment(
            service.name,
            context=kube.context,
            namespace=kube.namespace,
            deployment=kube.deployment,
            deployment_health=self.deployment_health,
        )
