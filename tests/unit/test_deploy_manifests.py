"""deploy/: the kustomization renders, and its Role grants exactly what kube_ops uses."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from warroom_sandbox.fake_cluster import FakeCluster, start_fake_cluster, write_kubeconfig

from bot.adapters.kube import (
    apply_restart,
    apply_rollback,
    apply_scale,
    apply_set_image,
    deployment_health,
    history,
    load_api_client,
    plan_restart,
    plan_rollback,
    plan_scale,
    plan_set_image,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
VERBS = {"GET": "get", "PATCH": "patch", "PUT": "update", "POST": "create", "DELETE": "delete"}
_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[^/]+)/v1)/namespaces/[^/]+/(?P<resource>[^/]+)"
    r"(?:/(?P<name>[^/]+)(?:/(?P<sub>[^/]+))?)?$"
)


def rendered() -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    out = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY)], capture_output=True, text=True, check=True
    ).stdout
    return list(yaml.safe_load_all(out))


def test_manifests_render_two_replicas_with_health_probes() -> None:
    docs = {(d["kind"], d["metadata"]["name"]): d for d in rendered()}
    dep = docs[("Deployment", "warroom")]
    assert dep["spec"]["replicas"] == 2
    pod = dep["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "warroom"
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["envFrom"][0]["secretRef"]["name"] == "warroom"
    assert ("Service", "warroom") in docs and ("ServiceAccount", "warroom") in docs
    binding = docs[("RoleBinding", "warroom-operator")]
    assert binding["subjects"][0]["name"] == "warroom"


def test_termination_grace_covers_prestop_and_drain() -> None:
    """Kubernetes SIGKILLs after terminationGracePeriodSeconds, counted from the preStop
    hook: the hook's sleep plus warroom's drain (WARROOM_SHUTDOWN_GRACE_S) must fit, with
    room to close the clients."""
    dep = {(d["kind"], d["metadata"]["name"]): d for d in rendered()}[("Deployment", "warroom")]
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    grace = float(env.get("WARROOM_SHUTDOWN_GRACE_S") or 20)
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pre_stop = float(command[1])
    assert pre_stop >= 2  # long enough for kube-proxy and ingresses to drop the endpoint
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + grace + 3


def used_permissions(tmp_path: Path) -> set[tuple[str, str, str]]:
    """Run every kube_ops operation against the fake API server and read what it asked."""
    cluster = FakeCluster()
    cluster.create_deployment("prod", "api", "api:v1", replicas=2)
    with start_fake_cluster(cluster) as running:
        api = load_api_client(kubeconfig=str(write_kubeconfig(tmp_path / "kc", running.url)))
        apply_set_image(api, plan_set_image(api, "prod", "api", "api:v2"))
        history(api, "prod", "api")
        apply_rollback(api, plan_rollback(api, "prod", "api"))
        apply_scale(api, plan_scale(api, "prod", "api", 4))
        apply_restart(api, plan_restart(api, "prod", "api"))
        deployment_health(api, "prod", "api")
    used = set()
    for req in cluster.requests:
        m = _PATH.match(req.path)
        if not m:
            continue
        resource = m["resource"] + (f"/{m['sub']}" if m["sub"] else "")
        verb = VERBS[req.method] if m["name"] else ("list" if req.method == "GET" else "create")
        used.add((m["group"] or "", resource, verb))
    return used


def test_role_grants_exactly_what_the_code_uses(tmp_path: Path) -> None:
    role = next(d for d in rendered() if d["kind"] == "Role")
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert used_permissions(tmp_path) == granted
