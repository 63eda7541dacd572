"""deploy/: the kustomization renders, a Role and RoleBinding land in every namespace listed in
deploy/namespaces, the probes point where they should, and the Role grants exactly what
kube_ops uses."""

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


def rendered(deploy: Path = DEPLOY) -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    out = subprocess.run(
        [kubectl, "kustomize", str(deploy)], capture_output=True, text=True, check=True
    ).stdout
    return list(yaml.safe_load_all(out))


def by_id(docs: list[dict]) -> dict[tuple[str, str | None, str], dict]:
    """Keyed as kustomize and the API server key them: kind, namespace, name."""
    return {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs}


def listed_namespaces(deploy: Path = DEPLOY) -> list[str]:
    """The one list: deploy/namespaces/kustomization.yaml's resources."""
    listing = yaml.safe_load((deploy / "namespaces" / "kustomization.yaml").read_text())
    return list(listing["resources"])


def test_manifests_render_two_replicas_with_health_probes() -> None:
    docs = by_id(rendered())
    dep = docs[("Deployment", "warroom", "warroom")]
    assert dep["spec"]["replicas"] == 2
    pod = dep["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "warroom"
    container = pod["containers"][0]
    assert container["envFrom"][0]["secretRef"]["name"] == "warroom"
    assert ("Service", "warroom", "warroom") in docs
    assert ("ServiceAccount", "warroom", "warroom") in docs


def test_readiness_checks_the_stores_liveness_does_not() -> None:
    """/healthz checks Postgres and Redis: readiness. /livez checks nothing: liveness, so a
    database outage takes replicas out of the Service instead of restarting them all."""
    docs = by_id(rendered())
    container = docs[("Deployment", "warroom", "warroom")]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}


def _operator_rbac(docs: list[dict]) -> dict[str, set[str]]:
    """namespace -> the kinds of warroom-operator objects in it."""
    found: dict[str, set[str]] = {}
    for d in docs:
        if d["kind"] in ("Role", "RoleBinding") and d["metadata"]["name"] == "warroom-operator":
            found.setdefault(d["metadata"]["namespace"], set()).add(d["kind"])
    return found


def _check_rbac(docs: list[dict], namespaces: list[str]) -> None:
    ids = [
        (
            d["apiVersion"].split("/")[0],
            d["kind"],
            d["metadata"].get("namespace"),
            d["metadata"]["name"],
        )
        for d in docs
    ]
    assert len(ids) == len(set(ids)), "two objects with one ID"
    assert _operator_rbac(docs) == {ns: {"Role", "RoleBinding"} for ns in namespaces}
    for d in docs:
        if d["kind"] == "RoleBinding":
            assert d["roleRef"] == {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "warroom-operator",
            }
            # warroom's own ServiceAccount, wherever the binding is
            assert d["subjects"] == [
                {"kind": "ServiceAccount", "name": "warroom", "namespace": "warroom"}
            ]


def test_a_role_and_binding_in_every_listed_namespace() -> None:
    namespaces = listed_namespaces()
    assert len(namespaces) >= 2  # the example shows the pattern more than once
    _check_rbac(rendered(), namespaces)


def test_adding_a_namespace_as_the_list_says(tmp_path: Path) -> None:
    """The procedure in deploy/namespaces/kustomization.yaml, done to a copy of deploy/."""
    deploy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, deploy)
    listing = deploy / "namespaces" / "kustomization.yaml"
    listing.write_text(listing.read_text() + "  - payments\n")
    (deploy / "namespaces" / "payments").mkdir()
    (deploy / "namespaces" / "payments" / "kustomization.yaml").write_text(
        "{namespace: payments, components: [../../operator-role]}\n"
    )
    namespaces = listed_namespaces(deploy)
    assert namespaces[-1] == "payments"
    _check_rbac(rendered(deploy), namespaces)


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
