"""warroom's Kubernetes adapter end to end over HTTP, with kubectl as the reference."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient
from warroom_sandbox.fake_cluster import FakeCluster, Harness, kubectl_path, running_cluster
from warroom_sandbox.fake_cluster.resources import DEPLOYMENTS

from bot.adapters import kube as kube_ops
from bot.adapters.kube.changes import go_rfc3339

NS = "prod"
REVISION = "deployment.kubernetes.io/revision"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
needs_kubectl = pytest.mark.skipif(kubectl_path() is None, reason="kubectl is not installed")


def seed(cluster: FakeCluster, *images: str, sidecar: bool = False) -> None:
    """api at revision len(images), one rollout per image, the way a CI pipeline leaves it."""
    extra = [{"name": "proxy", "image": "envoy:1"}] if sidecar else None
    cluster.create_deployment(NS, "api", images[0], replicas=3, extra_containers=extra)
    for image in images[1:]:
        set_image_directly(cluster, image, cause=f"deploy {image}")


def set_image_directly(cluster: FakeCluster, image: str, cause: str | None = None) -> None:
    patch: dict[str, Any] = {
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}
    }
    if cause:
        patch["metadata"] = {"annotations": {"kubernetes.io/change-cause": cause}}
    cluster.api.patch(DEPLOYMENTS, NS, "api", "application/strategic-merge-patch+json", patch)


def client_for(h: Harness) -> ApiClient:
    return kube_ops.load_api_client(kubeconfig=str(h.kubeconfig))


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Harness]:
    cluster = FakeCluster()
    seed(cluster, "img:v1")
    with running_cluster(tmp_path, cluster, namespace=NS) as h:
        yield h


@pytest.fixture
def api(fake: Harness) -> ApiClient:
    return client_for(fake)


TwinFactory = Callable[..., tuple[Harness, Harness]]


@pytest.fixture
def twins(tmp_path: Path) -> Iterator[TwinFactory]:
    """Two identical clusters: one for kubectl, one for kube_ops."""
    with ExitStack() as stack:

        def make(*images: str, sidecar: bool = False) -> tuple[Harness, Harness]:
            pair = []
            for side in ("kubectl", "warroom"):
                cluster = FakeCluster()
                seed(cluster, *images, sidecar=sidecar)
                workdir = tmp_path / side
                workdir.mkdir(exist_ok=True)
                pair.append(stack.enter_context(running_cluster(workdir, cluster, namespace=NS)))
            return pair[0], pair[1]

        yield make


def shape(cluster: FakeCluster, *, mask_restart: bool = False) -> dict[str, Any]:
    """Everything a rollout command decides, minus names, uids and timestamps."""
    d = cluster.deployment(NS, "api")
    template = copy.deepcopy(d["spec"]["template"])
    hashes: dict[str, str] = {}
    if mask_restart:
        annotations = template["metadata"].get("annotations") or {}
        if RESTARTED_AT in annotations:
            annotations[RESTARTED_AT] = "<set>"
    replicasets = []
    for rs in cluster.replicasets(NS, "api"):
        rs_annotations = rs["metadata"]["annotations"]
        pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
        if mask_restart:
            pod_hash = hashes.setdefault(pod_hash, f"hash-{len(hashes)}")
        replicasets.append(
            {
                "revision": int(rs_annotations[REVISION]),
                "history": rs_annotations.get("deployment.kubernetes.io/revision-history"),
                "cause": rs_annotations.get("kubernetes.io/change-cause"),
                "images": [c["image"] for c in rs["spec"]["template"]["spec"]["containers"]],
                "replicas": rs["spec"]["replicas"],
                "hash": pod_hash,
            }
        )
    status = d["status"]
    return {
        "generation": d["metadata"]["generation"],
        "annotations": d["metadata"]["annotations"],
        "replicas": d["spec"]["replicas"],
        "template": template,
        "status": {k: v for k, v in status.items() if k != "conditions"},
        "replicasets": replicasets,
    }


# ---- client loading ---------------------------------------------------------------------------


def test_load_api_client_picks_the_named_context(fake: Harness, tmp_path: Path) -> None:
    config = yaml.safe_load(fake.kubeconfig.read_text())
    config["clusters"].append({"name": "dead", "cluster": {"server": "http://127.0.0.1:1"}})
    config["contexts"].append(
        {"name": "dead", "context": {"cluster": "dead", "user": "fake-user", "namespace": NS}}
    )
    config["current-context"] = "dead"
    path = tmp_path / "two-contexts"
    path.write_text(yaml.safe_dump(config))
    live = kube_ops.load_api_client(context="fake", kubeconfig=str(path))
    assert [r.number for r in kube_ops.history(live, NS, "api")] == [1]
    dead = kube_ops.load_api_client(kubeconfig=str(path))
    with pytest.raises(kube_ops.Unreachable, match="connection refused"):
        kube_ops.history(dead, NS, "api", timeout_s=2)
    with pytest.raises(kube_ops.KubeError, match="Cannot load Kubernetes credentials"):
        kube_ops.load_api_client(context="nope", kubeconfig=str(path))


# ---- history and rollback ---------------------------------------------------------------------


def test_history_lists_revisions_with_images_and_causes(fake: Harness, api: ApiClient) -> None:
    set_image_directly(fake.cluster, "img:v2", cause="ship v2")
    set_image_directly(fake.cluster, "img:v3", cause="ship v3")
    revisions = kube_ops.history(api, NS, "api")
    assert [(r.number, r.images, r.change_cause, r.is_current, r.replicas) for r in revisions] == [
        (1, {"app": "img:v1"}, None, False, 0),
        (2, {"app": "img:v2"}, "ship v2", False, 0),
        (3, {"app": "img:v3"}, "ship v3", True, 3),
    ]
    assert all(isinstance(r.created, datetime) for r in revisions)
    assert revisions[2].replicaset.startswith("api-")


def test_plan_rollback_refuses_like_kubectl(fake: Harness, api: ApiClient) -> None:
    with pytest.raises(
        kube_ops.NoPreviousRevision, match='no rollout history found for deployment "api"'
    ):
        kube_ops.plan_rollback(api, NS, "api")
    set_image_directly(fake.cluster, "img:v2")
    with pytest.raises(
        kube_ops.RevisionNotFound, match="unable to find specified revision 7 in history"
    ):
        kube_ops.plan_rollback(api, NS, "api", to_revision=7)
    with pytest.raises(kube_ops.AlreadyAtRevision) as skipped:
        kube_ops.plan_rollback(api, NS, "api", to_revision=2)
    assert str(skipped.value) == "skipped rollback (current template already matches revision 2)"
    fake.cluster.api.patch(
        DEPLOYMENTS, NS, "api", "application/merge-patch+json", {"spec": {"paused": True}}
    )
    with pytest.raises(kube_ops.DeploymentPaused, match="you cannot rollback a paused deployment"):
        kube_ops.plan_rollback(api, NS, "api")


def test_plan_rollback_describes_the_change(fake: Harness, api: ApiClient) -> None:
    set_image_directly(fake.cluster, "img:v2")
    plan = kube_ops.plan_rollback(api, NS, "api")
    assert (plan.current_revision, plan.target_revision) == (2, 1)
    assert (plan.current_images, plan.target_images) == ({"app": "img:v2"}, {"app": "img:v1"})
    assert "pod-template-hash" not in plan.template["metadata"]["labels"]
    assert plan.summary == (
        "Roll back prod/api from revision 2 (app=img:v2) to revision 1 (app=img:v1)"
    )
    assert (
        fake.cluster.deployment(NS, "api")["metadata"]["generation"] == 2
    )  # planning wrote nothing


@needs_kubectl
@pytest.mark.parametrize("to_revision", [None, 1])
def test_rollback_matches_kubectl_undo(twins: TwinFactory, to_revision: int | None) -> None:
    by_kubectl, by_warroom = twins("img:v1", "img:v2", "img:v3")
    args = ["rollout", "undo", "deployment/api"]
    if to_revision is not None:
        args.append(f"--to-revision={to_revision}")
    result = by_kubectl.kubectl(*args)
    assert result.returncode == 0, result.stderr

    api = client_for(by_warroom)
    plan = kube_ops.plan_rollback(api, NS, "api", to_revision=to_revision)
    outcome = kube_ops.apply_rollback(api, plan)
    assert outcome.images == {"app": "img:v2" if to_revision is None else "img:v1"}

    expected = shape(by_kubectl.cluster)
    assert shape(by_warroom.cluster) == expected
    assert expected["annotations"][REVISION] == "4"
    assert [rs["revision"] for rs in expected["replicasets"]] == (
        [1, 3, 4] if to_revision is None else [2, 3, 4]
    )
    # and the two histories read the same through kube_ops
    assert kube_ops.history(client_for(by_kubectl), NS, "api") != []
    assert [(r.number, r.images, r.is_current) for r in kube_ops.history(api, NS, "api")] == [
        (r.number, r.images, r.is_current)
        for r in kube_ops.history(client_for(by_kubectl), NS, "api")
    ]


@needs_kubectl
def test_set_image_matches_kubectl(twins: TwinFactory) -> None:
    by_kubectl, by_warroom = twins("img:v1", "img:v2", sidecar=True)
    result = by_kubectl.kubectl("set", "image", "deployment/api", "app=img:v1")
    assert result.returncode == 0, result.stderr

    api = client_for(by_warroom)
    with pytest.raises(kube_ops.AmbiguousContainer, match="app, proxy"):
        kube_ops.plan_set_image(api, NS, "api", "img:v1")
    with pytest.raises(kube_ops.ContainerNotFound, match='unable to find container named "web"'):
        kube_ops.plan_set_image(api, NS, "api", "img:v1", container="web")
    with pytest.raises(kube_ops.NothingToChange):
        kube_ops.plan_set_image(api, NS, "api", "img:v2", container="app")
    plan = kube_ops.plan_set_image(api, NS, "api", "img:v1", container="app")
    assert plan.summary == "Set image of container app in prod/api: img:v2 -> img:v1"
    result_obj = kube_ops.apply_set_image(api, plan)
    assert result_obj.images == {"app": "img:v1", "proxy": "envoy:1"}
    assert shape(by_warroom.cluster) == shape(by_kubectl.cluster)


@needs_kubectl
def test_scale_matches_kubectl(twins: TwinFactory) -> None:
    by_kubectl, by_warroom = twins("img:v1", "img:v2")
    assert by_kubectl.kubectl("scale", "deployment/api", "--replicas=5").returncode == 0
    api = client_for(by_warroom)
    plan = kube_ops.plan_scale(api, NS, "api", 5)
    assert (plan.current_replicas, plan.new_replicas) == (3, 5)
    result = kube_ops.apply_scale(api, plan)
    assert (result.replicas, result.generation) == (5, 3)
    assert shape(by_warroom.cluster) == shape(by_kubectl.cluster)
    with pytest.raises(kube_ops.NothingToChange):
        kube_ops.plan_scale(api, NS, "api", 5)
    with pytest.raises(ValueError):
        kube_ops.plan_scale(api, NS, "api", -1)


@needs_kubectl
def test_restart_matches_kubectl(twins: TwinFactory) -> None:
    by_kubectl, by_warroom = twins("img:v1", "img:v2")
    assert by_kubectl.kubectl("rollout", "restart", "deployment/api").returncode == 0
    api = client_for(by_warroom)
    plan = kube_ops.plan_restart(api, NS, "api")
    kube_ops.apply_restart(api, plan)
    assert shape(by_warroom.cluster, mask_restart=True) == shape(
        by_kubectl.cluster, mask_restart=True
    )
    written = [
        side.cluster.deployment(NS, "api")["spec"]["template"]["metadata"]["annotations"]
        for side in (by_kubectl, by_warroom)
    ]
    kubectl_stamp, warroom_stamp = (a[RESTARTED_AT] for a in written)
    assert len(kubectl_stamp) == len(warroom_stamp)  # same Go RFC3339 shape, whole seconds
    delta = datetime.fromisoformat(kubectl_stamp) - datetime.fromisoformat(warroom_stamp)
    assert abs(delta.total_seconds()) < 30


@pytest.mark.parametrize(
    ("tz", "expected"),
    [("UTC0", "2025-03-01T12:00:05Z"), ("IST-5:30", "2025-03-01T17:30:05+05:30")],
)
def test_go_rfc3339_matches_kubectl_format(
    monkeypatch: pytest.MonkeyPatch, tz: str, expected: str
) -> None:
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        assert go_rfc3339(datetime(2025, 3, 1, 12, 0, 5, 999, tzinfo=UTC)) == expected
    finally:
        monkeypatch.undo()
        time.tzset()


# ---- following rollouts -------------------------------------------------------------------------


def test_follow_rollout_reports_progress_until_complete(fake: Harness, api: ApiClient) -> None:
    fake.cluster.rollout_delay = 0.2
    kube_ops.apply_set_image(api, kube_ops.plan_set_image(api, NS, "api", "img:v2"))
    seen: list[kube_ops.RolloutProgress] = []
    outcome = kube_ops.follow_rollout(
        api, NS, "api", timeout_s=10, poll_s=0.05, on_progress=seen.append
    )
    assert outcome.ok and outcome.state == "complete"
    assert outcome.message == 'deployment "api" successfully rolled out'
    assert outcome.revision == 2
    assert seen[-1].done
    assert any("new replicas have been updated" in p.message for p in seen[:-1])
    assert len({p.message for p in seen}) == len(seen)  # only changes are reported


def test_follow_rollout_fails_on_progress_deadline(fake: Harness, api: ApiClient) -> None:
    fake.cluster.image_behaviour["bad:*"] = "CrashLoopBackOff"
    fake.cluster.api.patch(
        DEPLOYMENTS,
        NS,
        "api",
        "application/merge-patch+json",
        {"spec": {"progressDeadlineSeconds": 1}},
    )
    kube_ops.apply_set_image(api, kube_ops.plan_set_image(api, NS, "api", "bad:v2"))
    outcome = kube_ops.follow_rollout(api, NS, "api", timeout_s=15, poll_s=0.1)
    assert outcome.state == "failed"
    assert outcome.message == 'deployment "api" exceeded its progress deadline'
    assert outcome.last is not None and outcome.last.updated == 1


def test_follow_rollout_times_out(fake: Harness, api: ApiClient) -> None:
    fake.cluster.image_behaviour["slow:*"] = "NeverReady"
    kube_ops.apply_set_image(api, kube_ops.plan_set_image(api, NS, "api", "slow:v2"))
    started = time.monotonic()
    outcome = kube_ops.follow_rollout(api, NS, "api", timeout_s=0.5, poll_s=0.1)
    assert outcome.state == "timed_out"
    assert time.monotonic() - started < 3
    assert "1 out of 3 new replicas have been updated" in outcome.message


def test_follow_rollout_async_delivers_progress_on_the_loop(fake: Harness, api: ApiClient) -> None:
    fake.cluster.rollout_delay = 0.1
    kube_ops.apply_set_image(api, kube_ops.plan_set_image(api, NS, "api", "img:v2"))
    seen: list[str] = []

    async def on_progress(progress: kube_ops.RolloutProgress) -> None:
        seen.append(progress.message)

    async def main() -> kube_ops.RolloutOutcome:
        return await kube_ops.follow_rollout_async(
            api, NS, "api", timeout_s=10, poll_s=0.05, on_progress=on_progress
        )

    outcome = asyncio.run(main())
    assert outcome.ok
    assert seen[-1] == 'deployment "api" successfully rolled out'
    health = asyncio.run(kube_ops.in_thread(kube_ops.deployment_health, api, NS, "api"))
    assert health.healthy


# ---- health -----------------------------------------------------------------------------------


def test_health_of_a_healthy_deployment(api: ApiClient) -> None:
    health = kube_ops.deployment_health(api, NS, "api")
    assert health.healthy
    assert (health.desired, health.ready, health.available, health.updated) == (3, 3, 3, 3)
    assert (health.rollout, health.revision, health.images) == ("complete", 1, {"app": "img:v1"})
    assert health.conditions["Available"].status is True
    assert health.pod_issues == [] and health.warnings == []


def test_health_shows_crashlooping_pods_and_warnings(fake: Harness, api: ApiClient) -> None:
    fake.cluster.image_behaviour["bad:*"] = "CrashLoopBackOff"
    fake.cluster.create_deployment(NS, "other", "bad:v1", replicas=2)  # must not leak in
    kube_ops.apply_set_image(api, kube_ops.plan_set_image(api, NS, "api", "bad:v2"))
    fake.cluster.advance(35)
    health = kube_ops.deployment_health(api, NS, "api")
    assert not health.healthy
    assert health.rollout == "progressing"
    assert (health.desired, health.available, health.updated) == (3, 3, 1)
    assert [(i.reason, i.container, i.restarts) for i in health.pod_issues] == [
        ("CrashLoopBackOff", "app", 3)
    ]
    assert health.pod_issues[0].pod.startswith("api-")
    assert [(w.reason, w.count) for w in health.warnings] == [("BackOff", 3)]
    assert health.warnings[0].object.startswith("Pod/api-")

    fake.cluster.advance(601)
    health = kube_ops.deployment_health(api, NS, "api")
    assert health.rollout == "failed"
    assert health.conditions["Progressing"].reason == "ProgressDeadlineExceeded"
    assert "CrashLoopBackOff, 7 restarts" in health.summary  # back-off caps at 300s


@pytest.mark.parametrize(
    ("behaviour", "reason"), [("ImagePullBackOff", "ImagePullBackOff"), ("NeverReady", "NotReady")]
)
def test_health_names_other_pod_problems(
    fake: Harness, api: ApiClient, behaviour: str, reason: str
) -> None:
    fake.cluster.image_behaviour["bad:*"] = behaviour
    fake.cluster.api.patch(
        DEPLOYMENTS, NS, "api", "application/merge-patch+json", {"spec": {"replicas": 8}}
    )
    kube_ops.apply_set_image(api, kube_ops.plan_set_image(api, NS, "api", "bad:v2"))
    health = kube_ops.deployment_health(api, NS, "api", max_events=5)
    assert {i.reason for i in health.pod_issues} == {reason}
    assert len(health.warnings) <= 5
    assert health.warnings, "expected kubelet warnings"
    stamps = [w.last_seen for w in health.warnings]
    assert stamps == sorted(stamps, reverse=True)


# ---- errors -------------------------------------------------------------------------------------


def test_forbidden_names_the_missing_permission(fake: Harness, api: ApiClient) -> None:
    fake.cluster.user = "system:serviceaccount:warroom:bot"
    fake.cluster.inject_fault("PATCH", "*/deployments/api", 403)
    plan = kube_ops.plan_set_image(api, NS, "api", "img:v2")
    with pytest.raises(kube_ops.PermissionDenied) as denied:
        kube_ops.apply_set_image(api, plan)
    err = denied.value
    assert (err.user, err.verb, err.resource, err.group, err.namespace) == (
        "system:serviceaccount:warroom:bot",
        "patch",
        "deployments",
        "apps",
        NS,
    )
    assert str(err) == (
        "Permission denied: system:serviceaccount:warroom:bot may not patch deployments.apps in "
        'namespace "prod". Grant "patch" on "deployments" (API group "apps") in namespace "prod" '
        "to set the image of prod/api."
    )
    fake.cluster.inject_fault("PATCH", "*/deployments/api/scale", 403)
    with pytest.raises(kube_ops.PermissionDenied, match='"deployments/scale"'):
        kube_ops.apply_scale(api, kube_ops.plan_scale(api, NS, "api", 1))
    fake.cluster.inject_fault("GET", "/api/v1/namespaces/prod/pods", 403)
    with pytest.raises(kube_ops.PermissionDenied, match='may not list pods in namespace "prod"'):
        kube_ops.deployment_health(api, NS, "api")


def test_not_found(api: ApiClient) -> None:
    with pytest.raises(kube_ops.ObjectNotFound) as missing:
        kube_ops.history(api, NS, "nope")
    assert str(missing.value) == 'Deployment "nope" was not found in namespace "prod".'
    assert (missing.value.kind, missing.value.name, missing.value.namespace) == (
        "Deployment",
        "nope",
        NS,
    )


def test_stale_plan_is_replanned_once(fake: Harness, api: ApiClient) -> None:
    plan = kube_ops.plan_scale(api, NS, "api", 4)
    # an unrelated write (labels) moves resourceVersion on: one 409, then a silent re-plan
    fake.cluster.api.patch(
        DEPLOYMENTS, NS, "api", "application/merge-patch+json", {"metadata": {"labels": {"x": "1"}}}
    )
    assert kube_ops.apply_scale(api, plan).replicas == 4
    patches = [r for r in fake.cluster.requests if r.method == "PATCH"]
    assert len(patches) == 2
    assert patches[0].body["metadata"]["resourceVersion"] == plan.resource_version

    fake.cluster.inject_fault("PATCH", "*/deployments/api", 409, count=2)
    with pytest.raises(kube_ops.Conflict, match="was changed by someone else"):
        kube_ops.apply_restart(api, kube_ops.plan_restart(api, NS, "api"))


def test_concurrent_change_is_reported_not_overwritten(fake: Harness, api: ApiClient) -> None:
    set_image_directly(fake.cluster, "img:v2")
    rollback = kube_ops.plan_rollback(api, NS, "api")
    set_image = kube_ops.plan_set_image(api, NS, "api", "img:hotfix")
    set_image_directly(fake.cluster, "img:v3")  # someone else deploys meanwhile
    with pytest.raises(kube_ops.ConcurrentChange, match="Nothing was rolled back"):
        kube_ops.apply_rollback(api, rollback)
    with pytest.raises(kube_ops.ConcurrentChange, match="changed to img:v3"):
        kube_ops.apply_set_image(api, set_image)
    assert (
        fake.cluster.deployment(NS, "api")["spec"]["template"]["spec"]["containers"][0]["image"]
        == "img:v3"
    )


def test_rollback_conflict_retry_keeps_kubectl_semantics(fake: Harness, api: ApiClient) -> None:
    set_image_directly(fake.cluster, "img:v2")
    plan = kube_ops.plan_rollback(api, NS, "api")
    fake.cluster.inject_fault("PATCH", "*/deployments/api", 409)
    result = kube_ops.apply_rollback(api, plan)
    assert result.images == {"app": "img:v1"}
    revisions = kube_ops.history(api, NS, "api")
    assert [(r.number, r.is_current) for r in revisions] == [(2, False), (3, True)]


def test_timeouts_and_unreachable(fake: Harness, api: ApiClient) -> None:
    fake.cluster.inject_fault("GET", "*", None, hang_seconds=5)
    started = time.monotonic()
    with pytest.raises(kube_ops.RequestTimeout, match=r"did not answer within 0\.3s"):
        kube_ops.deployment_health(api, NS, "api", timeout_s=0.3)
    assert time.monotonic() - started < 2
    fake.cluster.inject_fault("GET", "*", 500, message="etcdserver: request timed out")
    with pytest.raises(kube_ops.ApiFailure, match="HTTP 500") as failure:
        kube_ops.history(api, NS, "api")
    assert failure.value.status == 500
    fake.running.stop()
    with pytest.raises(kube_ops.Unreachable, match="connection refused"):
        kube_ops.history(api, NS, "api")
