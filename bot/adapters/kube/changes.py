"""Runbook changes: set image, scale, restart, each planned from a read and applied with the
same patch kubectl sends, plus the read's resourceVersion as an optimistic lock."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from kubernetes.client import ApiClient

from bot.adapters.kube.client import DEFAULT_TIMEOUT_S, Target, apps, call
from bot.adapters.kube.errors import (
    AmbiguousContainer,
    ConcurrentChange,
    Conflict,
    ContainerNotFound,
    DeploymentPaused,
    NothingToChange,
)
from bot.adapters.kube.models import ChangeResult, RestartPlan, ScalePlan, SetImagePlan
from bot.adapters.kube.objects import (
    RESTARTED_AT,
    images_of,
    read_deployment,
    revision_of,
    templates_equal,
)

Plan = TypeVar("Plan")


def _result(d: dict[str, Any], action: str, message: str) -> ChangeResult:
    meta = d["metadata"]
    return ChangeResult(
        namespace=meta["namespace"],
        deployment=meta["name"],
        action=action,
        generation=int(meta.get("generation") or 0),
        resource_version=meta["resourceVersion"],
        images=images_of(d["spec"]["template"]),
        replicas=int(d["spec"].get("replicas") or 0),
        message=message,
    )


def _retry_once(
    send: Callable[[Plan], ChangeResult], plan: Plan, replan: Callable[[], Plan]
) -> ChangeResult:
    """A 409 usually means a controller status write; re-plan and try once more."""
    try:
        return send(plan)
    except Conflict:
        return send(replan())


def _patch(
    api: ApiClient, namespace: str, name: str, body: Any, action: str, timeout_s: float
) -> dict[str, Any]:
    return call(
        api,
        apps(api).patch_namespaced_deployment,
        Target("Deployment", name, namespace, action),
        name,
        namespace,
        body,
        _content_type="application/strategic-merge-patch+json",
        timeout_s=timeout_s,
    )


# ---- set image -----------------------------------------------------------------------------


def plan_set_image(
    api: ApiClient,
    namespace: str,
    name: str,
    image: str,
    container: str | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> SetImagePlan:
    d = read_deployment(api, namespace, name, "plan an image change for", timeout_s)
    return _plan_set_image(d, image, container)


def _plan_set_image(d: dict[str, Any], image: str, container: str | None) -> SetImagePlan:
    meta = d["metadata"]
    images = images_of(d["spec"]["template"])
    if container is None:
        if len(images) != 1:
            raise AmbiguousContainer(
                f"{meta['namespace']}/{meta['name']} has containers {', '.join(images)}; "
                "say which one to change"
            )
        container = next(iter(images))
    if container not in images:
        raise ContainerNotFound(
            f'unable to find container named "{container}" in {meta["namespace"]}/{meta["name"]} '
            f"(containers: {', '.join(images)})"
        )
    if images[container] == image:
        raise NothingToChange(
            f"container {container} of {meta['namespace']}/{meta['name']} already runs {image}"
        )
    return SetImagePlan(
        namespace=meta["namespace"],
        deployment=meta["name"],
        container=container,
        current_image=images[container],
        new_image=image,
        current_revision=revision_of(d),
        resource_version=meta["resourceVersion"],
        containers=tuple(images),
    )


def apply_set_image(
    api: ApiClient, plan: SetImagePlan, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> ChangeResult:
    def send(p: SetImagePlan) -> ChangeResult:
        # the strategic merge patch `kubectl set image` computes, merged by container name
        body = {
            "metadata": {"resourceVersion": p.resource_version},
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": c} for c in p.containers],
                        "containers": [{"image": p.new_image, "name": p.container}],
                    }
                }
            },
        }
        d = _patch(api, p.namespace, p.deployment, body, "set the image of", timeout_s)
        return _result(d, "set_image", f"deployment.apps/{p.deployment} image updated")

    def replan() -> SetImagePlan:
        d = read_deployment(api, plan.namespace, plan.deployment, "set the image of", timeout_s)
        now = images_of(d["spec"]["template"]).get(plan.container)
        if now != plan.current_image:
            raise ConcurrentChange(
                f"{plan.namespace}/{plan.deployment} container {plan.container} changed to {now} "
                f"after the change was planned (from {plan.current_image}). Nothing was changed."
            )
        return _plan_set_image(d, plan.new_image, plan.container)

    return _retry_once(send, plan, replan)


# ---- scale ---------------------------------------------------------------------------------


def _read_scale(api: ApiClient, namespace: str, name: str, timeout_s: float) -> dict[str, Any]:
    return call(
        api,
        apps(api).read_namespaced_deployment_scale,
        Target("Deployment", name, namespace, "read the scale of"),
        name,
        namespace,
        timeout_s=timeout_s,
    )


def plan_scale(
    api: ApiClient,
    namespace: str,
    name: str,
    replicas: int,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ScalePlan:
    if replicas < 0:
        raise ValueError("replicas must be zero or more")
    scale = _read_scale(api, namespace, name, timeout_s)
    return _plan_scale(scale, namespace, name, replicas)


def _plan_scale(scale: dict[str, Any], namespace: str, name: str, replicas: int) -> ScalePlan:
    current = int((scale.get("spec") or {}).get("replicas") or 0)
    if current == replicas:
        raise NothingToChange(f"{namespace}/{name} already has {replicas} replicas")
    return ScalePlan(namespace, name, current, replicas, scale["metadata"]["resourceVersion"])


def apply_scale(
    api: ApiClient, plan: ScalePlan, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> ChangeResult:
    def send(p: ScalePlan) -> ChangeResult:
        body = {
            "metadata": {"resourceVersion": p.resource_version},
            "spec": {"replicas": p.new_replicas},
        }
        call(
            api,
            apps(api).patch_namespaced_deployment_scale,
            Target("Deployment", p.deployment, p.namespace, "scale"),
            p.deployment,
            p.namespace,
            body,
            _content_type="application/merge-patch+json",
            timeout_s=timeout_s,
        )
        d = read_deployment(api, p.namespace, p.deployment, "scale", timeout_s)
        return _result(d, "scale", f"deployment.apps/{p.deployment} scaled")

    def replan() -> ScalePlan:
        scale = _read_scale(api, plan.namespace, plan.deployment, timeout_s)
        now = int((scale.get("spec") or {}).get("replicas") or 0)
        if now != plan.current_replicas:
            raise ConcurrentChange(
                f"{plan.namespace}/{plan.deployment} was scaled to {now} by someone else after "
                f"the change was planned (from {plan.current_replicas}). Nothing was changed."
            )
        return _plan_scale(scale, plan.namespace, plan.deployment, plan.new_replicas)

    return _retry_once(send, plan, replan)


# ---- restart -------------------------------------------------------------------------------


def go_rfc3339(moment: datetime) -> str:
    """Go's time.RFC3339 in local time, which is what `kubectl rollout restart` writes."""
    local = moment.astimezone()
    offset = local.utcoffset()
    if not offset:
        return local.strftime("%Y-%m-%dT%H:%M:%SZ")
    return local.strftime("%Y-%m-%dT%H:%M:%S%z")[:-2] + ":" + local.strftime("%z")[-2:]


def plan_restart(
    api: ApiClient,
    namespace: str,
    name: str,
    *,
    now: datetime | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> RestartPlan:
    d = read_deployment(api, namespace, name, "plan a restart of", timeout_s)
    return _plan_restart(d, now or datetime.now().astimezone())


def _plan_restart(d: dict[str, Any], now: datetime) -> RestartPlan:
    meta = d["metadata"]
    if d["spec"].get("paused"):
        raise DeploymentPaused(
            "can't restart paused deployment (run rollout resume first): "
            f"{meta['namespace']}/{meta['name']}"
        )
    return RestartPlan(
        namespace=meta["namespace"],
        deployment=meta["name"],
        restarted_at=go_rfc3339(now),
        current_revision=revision_of(d),
        resource_version=meta["resourceVersion"],
        current_template=copy.deepcopy(d["spec"]["template"]),
    )


def apply_restart(
    api: ApiClient, plan: RestartPlan, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> ChangeResult:
    def send(p: RestartPlan) -> ChangeResult:
        body = {
            "metadata": {"resourceVersion": p.resource_version},
            "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: p.restarted_at}}}},
        }
        d = _patch(api, p.namespace, p.deployment, body, "restart", timeout_s)
        return _result(d, "restart", f"deployment.apps/{p.deployment} restarted")

    def replan() -> RestartPlan:
        d = read_deployment(api, plan.namespace, plan.deployment, "restart", timeout_s)
        if not templates_equal(d["spec"]["template"], plan.current_template):
            raise ConcurrentChange(
                f"{plan.namespace}/{plan.deployment} was changed by someone else after the restart "
                "was planned. Nothing was restarted; check what changed."
            )
        fresh = _plan_restart(d, datetime.now().astimezone())
        return RestartPlan(
            fresh.namespace,
            fresh.deployment,
            plan.restarted_at,
            fresh.current_revision,
            fresh.resource_version,
            fresh.current_template,
        )

    return _retry_once(send, plan, replan)
