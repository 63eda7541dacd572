"""Two clusters in one catalog: each command and check reaches the cluster its service names,
through that cluster's kubeconfig context, and never the other one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from warroom_sandbox.fake_cluster import FakeCluster, start_fake_cluster
from warroom_sandbox.fake_cluster.kubeconfig import kubeconfig_dict
from warroom_sandbox.fake_cluster.resources import DEPLOYMENTS
from warroom_sandbox.testbed import Testbed

from bot.adapters.catalog.store import CatalogStore
from bot.adapters.kube.clients import KubeClients
from tests.e2e.test_operations import actions, declare

NS = "prod"


def image(cluster: FakeCluster) -> str:
    return cluster.deployment(NS, "api")["spec"]["template"]["spec"]["containers"][0]["image"]


def set_image(cluster: FakeCluster, value: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": value}]}}}}
    cluster.api.patch(DEPLOYMENTS, NS, "api", "application/strategic-merge-patch+json", patch)


@pytest.fixture
def two(bed: Testbed, tmp_path: Path) -> Iterator[dict[str, FakeCluster]]:
    """Clusters `east` and `west`, each running prod/api (east: v1→v2, west: w1→w2), one merged
    kubeconfig whose current context is east, and a catalog pinning api-east and api-west."""
    clusters = {"east": FakeCluster(), "west": FakeCluster()}
    running = {}
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "preferences": {}}
    for name, fake in clusters.items():
        fake.rollout_delay = 0.0
        running[name] = start_fake_cluster(fake)
        one = kubeconfig_dict(running[name].url, context=name, namespace=NS)
        for key in ("clusters", "users", "contexts"):
            merged.setdefault(key, []).extend(one[key])
        first, second = ("v1", "v2") if name == "east" else ("w1", "w2")
        fake.create_deployment(NS, "api", f"img:{first}")
        set_image(fake, f"img:{second}")
    merged["current-context"] = "east"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(merged))
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "east"}, {"name": "west", "context": "west"}],
                "services": [
                    {
                        "name": f"api-{name}",
                        "health_url": f"{bed.url}/healthz",
                        "kubernetes": {"context": name, "namespace": NS, "deployment": "api"},
                    }
                    for name in clusters
                ],
            }
        )
    )
    bed.services.catalog = CatalogStore.load(catalog)
    bed.services.settings = bed.services.settings.model_copy(update={"kubeconfig": str(kubeconfig)})
    bed.services.kube = KubeClients(str(kubeconfig))
    try:
        yield clusters
    finally:
        asyncio.run(bed.services.kube.close())  # the clients it made for east and west
        for r in running.values():
            r.stop()


def confirm_value(bed: Testbed, after: int = 0) -> str:
    def find() -> str | None:
        for r in bed.emulator.responses()[after:]:
            for block in r.body.get("blocks") or []:
                for el in block.get("elements") or []:
                    if el.get("action_id") == "ops_confirm":
                        return el["value"]
        return None

    return bed.wait_for(find, timeout=20)


def ephemeral(bed: Testbed, text: str, channel: str) -> str:
    resp = bed.driver.command(text, user_id=bed.people["alice"], channel_id=channel)
    assert resp.status_code == 200
    return resp.text


def test_rollback_reaches_only_the_named_cluster(bed: Testbed, two: dict[str, FakeCluster]) -> None:
    east, west = two["east"], two["west"]
    inc = declare(bed)
    channel = inc["channel_id"]
    seen = len(bed.emulator.responses())
    ephemeral(bed, "rollback api-west", channel)
    value = confirm_value(bed, seen)
    assert len(value) <= 64  # a plan id; the plan itself is kept server-side
    planned = bed.wait_for(
        lambda: [r.body["text"] for r in bed.emulator.responses()[seen:] if r.body.get("blocks")]
    )
    assert "west:prod/api" in planned[0] and "img:w2" in planned[0] and "img:w1" in planned[0]

    bed.driver.block_action(
        "ops_confirm", value=value, user_id=bed.people["alice"], channel_id=channel
    )
    done = bed.wait_for(lambda: actions(bed) or None, timeout=20)[0]
    assert done["data"]["outcome"] == "succeeded", done["data"]
    assert done["data"]["target"] == "west:prod/api"
    assert image(west) == "img:w1"
    assert image(east) == "img:v2"  # the current context was never touched
    assert not [r for r in east.requests if r.method == "PATCH"]


def test_a_deployment_in_two_clusters_needs_the_cluster_named(
    bed: Testbed, two: dict[str, FakeCluster]
) -> None:
    east, west = two["east"], two["west"]
    inc = declare(bed)
    channel = inc["channel_id"]
    text = ephemeral(bed, "rollback api -n prod", channel)
    assert "several places" in text and "east:prod" in text and "west:prod" in text
    assert "unknown cluster" in ephemeral(bed, "scale api 5 --cluster north", channel).lower()

    seen = len(bed.emulator.responses())
    ephemeral(bed, "scale api 5 --cluster east", channel)
    value = confirm_value(bed, seen)
    bed.driver.block_action(
        "ops_confirm", value=value, user_id=bed.people["alice"], channel_id=channel
    )
    done = bed.wait_for(lambda: actions(bed) or None, timeout=20)[0]
    assert done["data"]["outcome"] == "succeeded", done["data"]
    assert east.deployment(NS, "api")["spec"]["replicas"] == 5
    assert west.deployment(NS, "api")["spec"]["replicas"] == 3
    assert not [r for r in west.requests if r.method == "PATCH"]


def test_history_and_checks_read_each_cluster(bed: Testbed, two: dict[str, FakeCluster]) -> None:
    two["west"].image_behaviour["img:w2"] = "CrashLoopBackOff"
    set_image(two["west"], "img:w3")
    set_image(two["west"], "img:w2")  # a fresh rollout of the crashing image
    inc = declare(bed)
    channel = inc["channel_id"]
    seen = len(bed.emulator.responses())
    ephemeral(bed, "history api --cluster west", channel)
    hist = bed.wait_for(
        lambda: [
            r.body["text"] for r in bed.emulator.responses()[seen:] if "history" in r.body["text"]
        ]
    )[0]
    assert "west:prod/api" in hist and "img:w3" in hist and "img:v1" not in hist

    ephemeral(bed, "check all", channel)
    row = bed.wait_for(lambda: actions(bed, "check") or None, timeout=30)[0]
    kube = {r["service"]: r for r in row["data"]["results"] if r["check"] == "kubernetes"}
    assert set(kube) == {"api-east", "api-west"}
    assert kube["api-east"]["status"] == "ok", kube["api-east"]
    assert kube["api-west"]["status"] != "ok" and "CrashLoopBackOff" in json.dumps(kube["api-west"])
