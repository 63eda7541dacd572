"""The fake API server, checked against what real kubectl and the Python client expect."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from warroom_sandbox.fake_cluster import FakeCluster, Harness, kubectl_path, running_cluster
from warroom_sandbox.fake_cluster.errors import ApiError
from warroom_sandbox.fake_cluster.patching import (
    apply_patch,
    json_patch,
    merge_patch,
    strategic_merge,
)
from warroom_sandbox.fake_cluster.selectors import parse_field_selector, parse_label_selector

REVISION = "deployment.kubernetes.io/revision"
needs_kubectl = pytest.mark.skipif(kubectl_path() is None, reason="kubectl is not installed")


def image_of(obj: dict[str, Any]) -> str:
    return obj["spec"]["template"]["spec"]["containers"][0]["image"]


def revisions(cluster: FakeCluster, ns: str, name: str) -> dict[int, str]:
    """revision number -> image, as `kubectl rollout history` would list them."""
    return {
        int(rs["metadata"]["annotations"][REVISION]): image_of(rs)
        for rs in cluster.replicasets(ns, name)
    }


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    cluster = FakeCluster()
    cluster.create_deployment("default", "api", "img:v1", replicas=3)
    with running_cluster(tmp_path, cluster) as h:
        yield h


# ---- patch mechanics ---------------------------------------------------------------------------


def test_strategic_merge_merges_containers_by_name_and_keeps_order() -> None:
    original = {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "a:1",
                    "args": ["x"],
                    "env": [{"name": "A", "value": "1"}],
                },
                {"name": "side", "image": "s:1"},
            ]
        }
    }
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
            "containers": [{"name": "side", "image": "s:2"}, {"name": "app", "args": ["y"]}],
        }
    }
    result = strategic_merge(original, patch)
    assert [c["name"] for c in result["spec"]["containers"]] == ["app", "side"]
    assert result["spec"]["containers"][0] == {
        "name": "app",
        "image": "a:1",
        "args": ["y"],  # lists without a merge key are replaced
        "env": [{"name": "A", "value": "1"}],
    }
    assert result["spec"]["containers"][1]["image"] == "s:2"


def test_strategic_merge_directives() -> None:
    original = {
        "volumes": [{"name": "a", "v": 1}, {"name": "b"}],
        "m": {"x": 1, "y": 2},
        "keep": 1,
    }
    deleted = strategic_merge(
        original, {"volumes": [{"name": "a", "$patch": "delete"}], "keep": None}
    )
    assert deleted == {"volumes": [{"name": "b"}], "m": {"x": 1, "y": 2}}
    replaced = strategic_merge(original, {"m": {"$patch": "replace", "z": 3}})
    assert replaced["m"] == {"z": 3}
    whole_list = strategic_merge(original, {"volumes": [{"$patch": "replace"}, {"name": "z"}]})
    assert whole_list["volumes"] == [{"name": "z"}]
    env = strategic_merge(
        {"env": [{"name": "A", "value": "1"}]}, {"env": [{"name": "B", "value": "2"}]}
    )
    assert env["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]


def test_json_and_merge_patch() -> None:
    doc = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    patched = json_patch(
        doc,
        [
            {"op": "replace", "path": "/a/b", "value": 5},
            {"op": "add", "path": "/a/c/-", "value": 3},
            {"op": "remove", "path": "/d"},
            {"op": "test", "path": "/a/b", "value": 5},
            {"op": "copy", "from": "/a/b", "path": "/e"},
        ],
    )
    assert patched == {"a": {"b": 5, "c": [1, 2, 3]}, "e": 5}
    with pytest.raises(ApiError) as err:
        json_patch(doc, [{"op": "test", "path": "/d", "value": "nope"}])
    assert err.value.code == 422
    assert merge_patch(doc, {"a": {"b": None}, "d": "y"}) == {"a": {"c": [1, 2]}, "d": "y"}
    with pytest.raises(ApiError) as err:
        apply_patch(doc, "application/apply-patch+yaml", {})
    assert err.value.code == 415


def test_selectors() -> None:
    match = parse_label_selector("app=api,tier in (web, edge),!canary,env!=dev")
    assert match({"app": "api", "tier": "web"})
    assert not match({"app": "api", "tier": "db"})
    assert not match({"app": "api", "tier": "web", "canary": "1"})
    assert not match({"app": "api", "tier": "edge", "env": "dev"})
    fields = parse_field_selector("involvedObject.name=api,type!=Normal")
    assert fields({"involvedObject": {"name": "api"}, "type": "Warning"})
    assert not fields({"involvedObject": {"name": "api"}, "type": "Normal"})


# ---- controller semantics (in-process) -------------------------------------------------------


def set_template_image(
    cluster: FakeCluster, ns: str, name: str, image: str, **annotations: str
) -> None:
    patch: dict[str, Any] = {
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}
    }
    if annotations:
        patch["metadata"] = {"annotations": annotations}
    cluster.api.patch(
        cluster_rt("deployments"), ns, name, "application/strategic-merge-patch+json", patch
    )


def cluster_rt(name: str) -> Any:
    from warroom_sandbox.fake_cluster import resources

    return {"deployments": resources.DEPLOYMENTS, "replicasets": resources.REPLICASETS}[name]


def test_new_deployment_gets_revision_one_replicaset_pods_and_status() -> None:
    cluster = FakeCluster()
    d = cluster.create_deployment("prod", "api", "img:v1", replicas=3)
    (rs,) = cluster.replicasets("prod", "api")
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"api-{pod_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "api", "pod-template-hash": pod_hash}
    assert rs["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "api",
            "uid": d["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert rs["metadata"]["annotations"][REVISION] == "1"
    assert d["metadata"]["annotations"][REVISION] == "1"
    assert d["metadata"]["generation"] == 1
    status = d["status"]
    assert {
        k: status[k]
        for k in (
            "observedGeneration",
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
        )
    } == {
        "observedGeneration": 1,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
    }
    assert "unavailableReplicas" not in status  # omitempty, like the real API
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Available"]["status"] == "True"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    pods = cluster.pods_of("prod")
    assert len(pods) == 3
    assert all(p["status"]["phase"] == "Running" for p in pods)
    assert all(p["metadata"]["labels"]["pod-template-hash"] == pod_hash for p in pods)


def test_template_changes_create_and_reuse_replicasets_like_the_real_controller() -> None:
    cluster = FakeCluster()
    cluster.create_deployment("prod", "api", "img:v1")
    set_template_image(
        cluster, "prod", "api", "img:v2", **{"kubernetes.io/change-cause": "deploy v2"}
    )
    assert revisions(cluster, "prod", "api") == {1: "img:v1", 2: "img:v2"}
    d = cluster.deployment("prod", "api")
    assert d["metadata"]["generation"] == 2
    assert d["metadata"]["annotations"][REVISION] == "2"
    old, new = cluster.replicasets("prod", "api")
    assert old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == 3
    assert new["metadata"]["annotations"]["kubernetes.io/change-cause"] == "deploy v2"
    assert old["metadata"]["uid"] != new["metadata"]["uid"]

    # back to v1: the old ReplicaSet is reused and jumps to revision 3
    set_template_image(cluster, "prod", "api", "img:v1")
    assert revisions(cluster, "prod", "api") == {2: "img:v2", 3: "img:v1"}
    reused = cluster.replicasets("prod", "api")[-1]
    assert reused["metadata"]["uid"] == old["metadata"]["uid"]
    assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert cluster.deployment("prod", "api")["metadata"]["annotations"][REVISION] == "3"


def test_annotation_only_change_does_not_bump_generation_or_revision() -> None:
    cluster = FakeCluster()
    cluster.create_deployment("prod", "api", "img:v1")
    cluster.api.patch(
        cluster_rt("deployments"),
        "prod",
        "api",
        "application/merge-patch+json",
        {"metadata": {"annotations": {"team": "payments"}}},
    )
    d = cluster.deployment("prod", "api")
    assert d["metadata"]["generation"] == 1
    assert revisions(cluster, "prod", "api") == {1: "img:v1"}


def test_revision_history_limit_prunes_oldest_replicasets() -> None:
    cluster = FakeCluster()
    cluster.create_deployment("prod", "api", "img:v0", replicas=1)
    cluster.api.patch(
        cluster_rt("deployments"),
        "prod",
        "api",
        "application/merge-patch+json",
        {"spec": {"revisionHistoryLimit": 2}},
    )
    for n in range(1, 5):
        set_template_image(cluster, "prod", "api", f"img:v{n}")
    assert revisions(cluster, "prod", "api") == {3: "img:v2", 4: "img:v3", 5: "img:v4"}


def test_crashloop_image_never_becomes_available_and_times_out() -> None:
    cluster = FakeCluster()
    cluster.image_behaviour["bad:*"] = "CrashLoopBackOff"
    cluster.create_deployment("prod", "api", "img:v1", replicas=4)
    set_template_image(cluster, "prod", "api", "bad:v2")
    d = cluster.deployment("prod", "api")
    # maxSurge 1 / maxUnavailable 1 of 4: old pods keep serving while new ones crash
    assert d["status"]["updatedReplicas"] == 2
    assert d["status"]["availableReplicas"] == 3
    progressing = {c["type"]: c for c in d["status"]["conditions"]}["Progressing"]
    assert progressing["status"] == "True"
    assert progressing["reason"] == "ReplicaSetUpdated"

    bad = [p for p in cluster.pods_of("prod") if p["spec"]["containers"][0]["image"] == "bad:v2"]
    state = bad[0]["status"]["containerStatuses"][0]
    assert state["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert state["restartCount"] == 1
    cluster.advance(35)  # back-offs of 10s and 20s have passed
    bad = [p for p in cluster.pods_of("prod") if p["spec"]["containers"][0]["image"] == "bad:v2"]
    assert bad[0]["status"]["containerStatuses"][0]["restartCount"] == 3
    warnings = [e for e in cluster.events_of("prod") if e["type"] == "Warning"]
    assert {e["reason"] for e in warnings} == {"BackOff"}
    assert max(e["count"] for e in warnings) == 3

    cluster.advance(601)  # past the default progressDeadlineSeconds
    d = cluster.deployment("prod", "api")
    progressing = {c["type"]: c for c in d["status"]["conditions"]}["Progressing"]
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert progressing["message"].endswith("has timed out progressing.")


@pytest.mark.parametrize(
    ("behaviour", "reason", "phase"),
    [("ImagePullBackOff", "ImagePullBackOff", "Pending"), ("NeverReady", None, "Running")],
)
def test_other_bad_behaviours(behaviour: str, reason: str | None, phase: str) -> None:
    cluster = FakeCluster()
    cluster.image_behaviour["bad:*"] = behaviour
    cluster.create_deployment("prod", "api", "bad:v1", replicas=2)
    pods = cluster.pods_of("prod")
    assert {p["status"]["phase"] for p in pods} == {phase}
    status = pods[0]["status"]["containerStatuses"][0]
    assert status["ready"] is False
    assert status["state"].get("waiting", {}).get("reason") == reason
    d = cluster.deployment("prod", "api")
    assert d["status"].get("availableReplicas", 0) == 0
    available = {c["type"]: c for c in d["status"]["conditions"]}["Available"]
    assert available["status"] == "False"
    warnings = {e["reason"] for e in cluster.events_of("prod") if e["type"] == "Warning"}
    assert warnings == ({"Failed"} if behaviour == "ImagePullBackOff" else {"Unhealthy"})


def test_rollout_delay_keeps_new_pods_pending_until_it_passes() -> None:
    cluster = FakeCluster()
    cluster.create_deployment("prod", "api", "img:v1", replicas=2)
    cluster.rollout_delay = 30
    set_template_image(cluster, "prod", "api", "img:v2")
    d = cluster.deployment("prod", "api")
    assert d["status"]["updatedReplicas"] == 1  # surge of one, the rest waits for readiness
    cluster.advance(31)
    cluster.advance(31)
    d = cluster.deployment("prod", "api")
    assert (d["status"]["updatedReplicas"], d["status"]["availableReplicas"]) == (2, 2)
    assert d["status"]["replicas"] == 2


# ---- HTTP with the official Python client -----------------------------------------------------


def test_python_client_crud_and_status_errors(harness: Harness) -> None:
    apps = client.AppsV1Api(harness.api_client())
    d = apps.read_namespaced_deployment("api", "default")
    assert d.spec.template.spec.containers[0].image == "img:v1"
    listed = apps.list_namespaced_deployment("default")
    assert [item.metadata.name for item in listed.items] == ["api"]

    stale = apps.read_namespaced_deployment("api", "default")
    stale_rv = stale.metadata.resource_version
    apps.patch_namespaced_deployment(
        "api",
        "default",
        {"metadata": {"labels": {"x": "y"}}},
        _content_type="application/merge-patch+json",
    )
    body = client.ApiClient().sanitize_for_serialization(stale)
    body["metadata"]["resourceVersion"] = stale_rv
    with pytest.raises(ApiException) as err:
        apps.replace_namespaced_deployment("api", "default", body)
    assert err.value.status == 409
    status = json.loads(err.value.body)
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Operation cannot be fulfilled on deployments.apps "api": the object has been '
        "modified; please apply your changes to the latest version and try again",
        "reason": "Conflict",
        "details": {"name": "api", "group": "apps", "kind": "deployments"},
        "code": 409,
    }

    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("nope", "default")
    assert json.loads(err.value.body)["message"] == 'deployments.apps "nope" not found'
    assert json.loads(err.value.body)["reason"] == "NotFound"

    manifest = {
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1"}]},
            },
        },
    }
    created = apps.create_namespaced_deployment("default", manifest)
    assert created.spec.replicas == 1  # defaulted server-side
    assert created.spec.strategy.rolling_update.max_surge == "25%"
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment("default", manifest)
    assert err.value.status == 409
    apps.delete_namespaced_deployment("web", "default")
    harness.cluster.reconcile()
    assert [rs["metadata"]["name"] for rs in harness.cluster.replicasets("default", "api")]
    assert not [
        p for p in harness.cluster.pods_of("default") if p["metadata"]["name"].startswith("web-")
    ]


def test_invalid_patch_is_rejected_with_field_causes(harness: Harness) -> None:
    apps = client.AppsV1Api(harness.api_client())
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment(
            "api",
            "default",
            {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": None}]}}}},
            _content_type="application/strategic-merge-patch+json",
        )
    assert err.value.status == 422
    assert (
        "spec.template.spec.containers[0].image: Required value"
        in json.loads(err.value.body)["message"]
    )


def test_scale_subresource(harness: Harness) -> None:
    apps = client.AppsV1Api(harness.api_client())
    scale = apps.read_namespaced_deployment_scale("api", "default")
    assert (scale.spec.replicas, scale.status.replicas, scale.status.selector) == (3, 3, "app=api")
    apps.patch_namespaced_deployment_scale(
        "api", "default", {"spec": {"replicas": 5}}, _content_type="application/merge-patch+json"
    )
    assert harness.cluster.deployment("default", "api")["status"]["availableReplicas"] == 5
    scale = apps.read_namespaced_deployment_scale("api", "default")
    body = client.ApiClient().sanitize_for_serialization(scale)
    body["spec"]["replicas"] = 2
    apps.replace_namespaced_deployment_scale("api", "default", body)
    with pytest.raises(ApiException) as err:  # the same resourceVersion again is stale now
        apps.replace_namespaced_deployment_scale("api", "default", body)
    assert err.value.status == 409
    d = harness.cluster.deployment("default", "api")
    assert (d["spec"]["replicas"], d["metadata"]["generation"]) == (2, 3)
    assert len(harness.cluster.pods_of("default")) == 2


def test_core_lists_with_selectors(harness: Harness) -> None:
    api = harness.api_client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    harness.cluster.create_deployment("default", "worker", "w:1", replicas=1)
    pods = core.list_namespaced_pod("default", label_selector="app=api")
    assert len(pods.items) == 3
    rs = apps.list_namespaced_replica_set("default", label_selector="app=worker")
    assert [r.metadata.name.startswith("worker-") for r in rs.items] == [True]
    events = core.list_namespaced_event(
        "default", field_selector="involvedObject.name=api,involvedObject.kind=Deployment"
    )
    assert [e.reason for e in events.items] == ["ScalingReplicaSet"]
    names = [ns.metadata.name for ns in core.list_namespace().items]
    assert {"default", "kube-system"} <= set(names)
    assert core.read_namespace("default").status.phase == "Active"
    with pytest.raises(ApiException) as err:
        core.list_namespaced_pod("default", label_selector="app in (")
    assert err.value.status == 400


def test_faults_from_python_and_http(harness: Harness) -> None:
    harness.cluster.user = "system:serviceaccount:warroom:bot"
    apps = client.AppsV1Api(harness.api_client())
    harness.cluster.inject_fault("PATCH", "*/deployments/api", 403, count=1)
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment(
            "api",
            "default",
            {"spec": {"replicas": 1}},
            _content_type="application/merge-patch+json",
        )
    assert err.value.status == 403
    assert json.loads(err.value.body)["message"] == (
        'deployments.apps "api" is forbidden: User "system:serviceaccount:warroom:bot" cannot '
        'patch resource "deployments" in API group "apps" in the namespace "default"'
    )
    # consumed: the next one goes through
    apps.patch_namespaced_deployment(
        "api", "default", {"spec": {"replicas": 1}}, _content_type="application/merge-patch+json"
    )

    with httpx.Client(base_url=harness.url) as http:
        added = http.post(
            "/_fake/faults",
            json={"method": "GET", "path": "/api/v1/namespaces/*/pods", "status": 403, "count": 2},
        )
        assert added.status_code == 201
        for _ in range(2):
            denied = http.get("/api/v1/namespaces/prod/pods")
            assert denied.status_code == 403
            assert denied.json()["message"] == (
                'pods is forbidden: User "system:serviceaccount:warroom:bot" cannot list resource '
                '"pods" in API group "" in the namespace "prod"'
            )
        assert http.get("/api/v1/namespaces/prod/pods").status_code == 200
        http.post(
            "/_fake/faults",
            json={"path": "/apis/apps/v1/namespaces/default/deployments/api", "status": 500},
        )
        broken = http.get("/apis/apps/v1/namespaces/default/deployments/api")
        assert (broken.status_code, broken.json()["reason"]) == (500, "InternalError")
        http.post("/_fake/faults", json={"path": "*", "status": None, "hang_seconds": 5})
        with pytest.raises(httpx.ReadTimeout):
            http.get("/version", timeout=0.3)
        http.delete("/_fake/faults")
        assert http.get("/apis/apps/v1/namespaces/default").status_code == 404
        http.post("/_fake/behaviour", json={"images": {"bad:*": "CrashLoopBackOff"}})
        assert harness.cluster.image_behaviour == {"bad:*": "CrashLoopBackOff"}
        before = harness.cluster.clock.now()
        http.post("/_fake/clock", json={"seconds": 3600})
        assert (harness.cluster.clock.now() - before).total_seconds() >= 3600
        state = http.get("/_fake/state").json()
        assert state["faults"] == []
        assert [d["metadata"]["name"] for d in state["deployments"]] == ["api"]
        assert len(state["pods"]) == 1


def test_token_is_required_when_configured(tmp_path: Path) -> None:
    cluster = FakeCluster(token="s3cret")
    with running_cluster(tmp_path, cluster) as h, httpx.Client(base_url=h.url) as http:
        assert http.get("/api/v1/namespaces").status_code == 401
        ok = http.get("/api/v1/namespaces", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


def test_watch_streams_changes(harness: Harness) -> None:
    rv = harness.cluster.deployment("default", "api")["metadata"]["resourceVersion"]
    params = {
        "watch": "true",
        "resourceVersion": rv,
        "fieldSelector": "metadata.name=api",
        "timeoutSeconds": "5",
    }
    with httpx.Client(base_url=harness.url) as http:
        with http.stream(
            "GET", "/apis/apps/v1/namespaces/default/deployments", params=params
        ) as resp:
            harness.cluster.api.patch(
                cluster_rt("deployments"),
                "default",
                "api",
                "application/merge-patch+json",
                {"spec": {"replicas": 4}},
            )
            first = json.loads(next(resp.iter_lines()))
    assert first["type"] == "MODIFIED"
    assert first["object"]["spec"]["replicas"] == 4


def test_discovery_documents(harness: Harness) -> None:
    with httpx.Client(base_url=harness.url) as http:
        assert http.get("/version").json()["minor"] == "32"
        groups = http.get("/apis").json()
        assert [g["name"] for g in groups["groups"]] == ["apps"]
        resources = {r["name"]: r for r in http.get("/apis/apps/v1").json()["resources"]}
        assert resources["deployments/scale"]["kind"] == "Scale"
        assert resources["deployments/scale"]["group"] == "autoscaling"
        assert http.get("/apis/nope/v1").status_code == 404


# ---- kubectl as the oracle ----------------------------------------------------------------------


@needs_kubectl
def test_kubectl_set_image_history_and_undo(harness: Harness) -> None:
    cluster, kubectl = harness.cluster, harness.kubectl
    result = kubectl("set", "image", "deployment/api", "app=img:v2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "deployment.apps/api image updated"
    assert revisions(cluster, "default", "api") == {1: "img:v1", 2: "img:v2"}

    listed = kubectl("rollout", "history", "deployment/api").stdout.split("\n")
    assert listed[1].split() == ["REVISION", "CHANGE-CAUSE"]
    assert [line.split()[0] for line in listed[2:] if line.strip()] == ["1", "2"]

    undo = kubectl("rollout", "undo", "deployment/api")
    assert undo.returncode == 0, undo.stderr
    assert undo.stdout.strip() == "deployment.apps/api rolled back"
    assert image_of(cluster.deployment("default", "api")) == "img:v1"
    assert revisions(cluster, "default", "api") == {2: "img:v2", 3: "img:v1"}

    undo_to = kubectl("rollout", "undo", "deployment/api", "--to-revision=2")
    assert undo_to.returncode == 0, undo_to.stderr
    assert revisions(cluster, "default", "api") == {3: "img:v1", 4: "img:v2"}
    assert cluster.deployment("default", "api")["metadata"]["annotations"][REVISION] == "4"

    # kubectl reports this on stdout and exits 0
    skipped = kubectl("rollout", "undo", "deployment/api", "--to-revision=4")
    assert skipped.returncode == 0
    assert skipped.stdout.strip() == (
        "deployment.apps/api skipped rollback (current template already matches revision 4)"
    )
    missing = kubectl("rollout", "undo", "deployment/api", "--to-revision=1")
    assert missing.returncode == 1
    assert "unable to find specified revision 1 in history" in missing.stderr

    shown = kubectl("rollout", "history", "deployment/api", "--revision=3").stdout
    assert shown.startswith("deployment.apps/api with revision #3\nPod Template:")
    assert "Image:\timg:v1" in shown


@needs_kubectl
def test_kubectl_change_cause_shows_in_history(harness: Harness) -> None:
    harness.kubectl("annotate", "deployment/api", "kubernetes.io/change-cause=ship v2", check=True)
    harness.kubectl("set", "image", "deployment/api", "app=img:v2", check=True)
    history = harness.kubectl("rollout", "history", "deployment/api").stdout
    rows = [line.split(None, 1) for line in history.splitlines()[2:] if line.strip()]
    assert rows == [["1", "ship v2"], ["2", "ship v2"]]  # copied onto the live RS, then the new one


@needs_kubectl
def test_kubectl_rollout_status_completes_and_reports_progress(harness: Harness) -> None:
    harness.cluster.rollout_delay = 0.5  # three waves: kubectl must catch it mid-way
    harness.kubectl("set", "image", "deployment/api", "app=img:v2", check=True)
    status = harness.kubectl("rollout", "status", "deployment/api", "--timeout=20s")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.strip().splitlines()
    assert lines[-1] == 'deployment "api" successfully rolled out'
    assert any(line.startswith('Waiting for deployment "api" rollout to finish') for line in lines)


@needs_kubectl
def test_kubectl_rollout_status_fails_on_progress_deadline(harness: Harness) -> None:
    harness.cluster.image_behaviour["bad:*"] = "ImagePullBackOff"
    harness.kubectl("set", "image", "deployment/api", "app=bad:v2", check=True)
    status = harness.spawn_kubectl("rollout", "status", "deployment/api", "--timeout=20s")
    assert status.stdout is not None
    first = status.stdout.readline()
    assert first == (
        'Waiting for deployment "api" rollout to finish: 1 out of 3 new replicas have been '
        "updated...\n"
    )
    harness.cluster.advance(601)  # past the default progressDeadlineSeconds
    out, err = status.communicate(timeout=20)
    assert status.returncode == 1
    assert err.strip() == 'error: deployment "api" exceeded its progress deadline'
    assert out == ""


@needs_kubectl
def test_kubectl_scale_and_restart(harness: Harness) -> None:
    cluster, kubectl = harness.cluster, harness.kubectl
    scaled = kubectl("scale", "deployment/api", "--replicas=5")
    assert scaled.stdout.strip() == "deployment.apps/api scaled", scaled.stderr
    assert cluster.deployment("default", "api")["status"]["availableReplicas"] == 5
    assert len(cluster.pods_of("default")) == 5

    restarted = kubectl("rollout", "restart", "deployment/api")
    assert restarted.stdout.strip() == "deployment.apps/api restarted", restarted.stderr
    d = cluster.deployment("default", "api")
    annotations = d["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in annotations
    assert revisions(cluster, "default", "api") == {1: "img:v1", 2: "img:v1"}
    assert d["status"]["updatedReplicas"] == 5


@needs_kubectl
def test_kubectl_get_describe_create_apply_delete(harness: Harness, tmp_path: Path) -> None:
    kubectl = harness.kubectl
    table = kubectl("get", "deployments").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:4] == ["api", "3/3", "3", "3"]
    described = kubectl("describe", "deployment", "api")
    assert described.returncode == 0, described.stderr
    assert "ScalingReplicaSet" in described.stdout
    manifest = tmp_path / "web.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
        "  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n"
        "    metadata: {labels: {app: web}}\n"
        "    spec: {containers: [{name: web, image: 'nginx:1.25'}]}\n"
    )
    assert kubectl("create", "-f", str(manifest)).returncode == 0
    assert kubectl("apply", "-f", str(manifest)).returncode == 0
    pods = kubectl("get", "pods", "-l", "app=web", "-o", "name").stdout.split()
    assert len(pods) == 2
    assert kubectl("delete", "deployment", "web").stdout.strip() == 'deployment.apps "web" deleted'
    harness.cluster.reconcile()
    assert kubectl("get", "pods", "-l", "app=web", "-o", "name").stdout.split() == []


@needs_kubectl
def test_kubectl_shows_injected_forbidden(harness: Harness) -> None:
    harness.cluster.inject_fault("PATCH", "*/deployments/api", 403)
    result = harness.kubectl("set", "image", "deployment/api", "app=img:v2")
    assert result.returncode == 1
    # set image wraps the server's message in its own prefix instead of "Error from server"
    assert result.stderr.strip() == (
        'error: failed to patch image update to pod template: deployments.apps "api" is '
        "forbidden: User "
        '"system:serviceaccount:warroom:warroom-bot" cannot patch resource "deployments" in API '
        'group "apps" in the namespace "default"'
    )
    harness.cluster.inject_fault("PATCH", "*/deployments/api/scale", 403)
    scale = harness.kubectl("scale", "deployment/api", "--replicas=1")
    assert scale.returncode == 1
    assert scale.stderr.strip() == (
        'Error from server (Forbidden): deployments.apps "api" is forbidden: User '
        '"system:serviceaccount:warroom:warroom-bot" cannot patch resource "deployments/scale" '
        'in API group "apps" in the namespace "default"'
    )
