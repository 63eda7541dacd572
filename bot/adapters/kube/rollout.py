"""Following a rollout to its end with the rules `kubectl rollout status` applies."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiClient

from bot.adapters.kube.client import DEFAULT_TIMEOUT_S
from bot.adapters.kube.errors import ApiFailure, ObjectNotFound, RequestTimeout, Unreachable
from bot.adapters.kube.models import RolloutOutcome, RolloutProgress
from bot.adapters.kube.objects import read_deployment, revision_of

TIMED_OUT_REASON = "ProgressDeadlineExceeded"
# errors worth riding out while polling; the next poll may well succeed
TRANSIENT = (RequestTimeout, Unreachable, ApiFailure)


@dataclass(frozen=True)
class StatusVerdict:
    progress: RolloutProgress
    failed: bool


def rollout_status(d: dict[str, Any]) -> StatusVerdict:
    """DeploymentStatusViewer.Status, message for message."""
    name = d["metadata"]["name"]
    spec, status = d.get("spec") or {}, d.get("status") or {}
    desired = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)

    def verdict(message: str, done: bool = False, failed: bool = False) -> StatusVerdict:
        return StatusVerdict(
            RolloutProgress(message, done, desired, updated, available, total), failed
        )

    if int(d["metadata"].get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return verdict("Waiting for deployment spec update to be observed...")
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == TIMED_OUT_REASON:
            return verdict(f'deployment "{name}" exceeded its progress deadline', failed=True)
    if updated < desired:
        return verdict(
            f'Waiting for deployment "{name}" rollout to finish: {updated} out of {desired} '
            "new replicas have been updated..."
        )
    if total > updated:
        return verdict(
            f'Waiting for deployment "{name}" rollout to finish: {total - updated} old replicas '
            "are pending termination..."
        )
    if available < updated:
        return verdict(
            f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} '
            "updated replicas are available..."
        )
    return verdict(f'deployment "{name}" successfully rolled out', done=True)


def follow_rollout(
    api: ApiClient,
    namespace: str,
    name: str,
    timeout_s: float = 300.0,
    poll_s: float = 2.0,
    on_progress: Callable[[RolloutProgress], None] | None = None,
    *,
    request_timeout_s: float = DEFAULT_TIMEOUT_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RolloutOutcome:
    """Polls until complete, failed (progress deadline) or timeout_s; on_progress gets each
    new status message. Transient API errors are ridden out until the deadline."""
    start = clock()
    last: RolloutProgress | None = None
    last_error: str | None = None
    revision: int | None = None
    while True:
        try:
            d = read_deployment(
                api, namespace, name, "follow the rollout of", min(request_timeout_s, timeout_s)
            )
        except ObjectNotFound:
            return RolloutOutcome(
                "failed",
                f'deployment "{name}" was deleted during the rollout',
                clock() - start,
                revision,
                last,
            )
        except TRANSIENT as exc:
            d, last_error = None, exc.message
        if d is not None:
            revision = revision_of(d)
            verdict = rollout_status(d)
            if last is None or verdict.progress.message != last.message:
                if on_progress is not None:
                    on_progress(verdict.progress)
            last = verdict.progress
            if verdict.progress.done:
                return RolloutOutcome("complete", last.message, clock() - start, revision, last)
            if verdict.failed:
                return RolloutOutcome("failed", last.message, clock() - start, revision, last)
        elapsed = clock() - start
        if elapsed >= timeout_s:
            where = last.message if last else (last_error or "no status read")
            return RolloutOutcome(
                "timed_out",
                f"gave up after {timeout_s:g}s; last status: {where}",
                elapsed,
                revision,
                last,
            )
        sleep(min(poll_s, max(timeout_s - elapsed, 0.0)))
