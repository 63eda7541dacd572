"""The catalog's `operations:` policy: who may confirm each action (users and user groups),
which namespaces and deployments warroom may touch, and replica limits per deployment.
Every refusal is audited and leaves the Deployment alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from warroom_sandbox.fake_cluster import FakeCluster
from warroom_sandbox.testbed import Testbed

from bot.adapters.catalog.load import load_catalog
from bot.adapters.catalog.model import CatalogError
from bot.adapters.catalog.store import CatalogStore
from tests.e2e.test_operations import (
    NS,
    actions,
    confirm_value,
    declare,
    image_of,
    set_image,
    texts,
)
from tests.e2e.test_operations import cluster as _cluster

cluster = _cluster  # the fake cluster fixture, shared with test_operations


def with_policy(bed: Testbed, tmp_path: Path, operations: dict) -> None:
    path = tmp_path / "catalog.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "services": [
                    {
                        "name": "api",
                        "health_url": f"{bed.url}/healthz",
                        "kubernetes": {"namespace": NS, "deployment": "api"},
                    }
                ],
                "operations": operations,
            }
        )
    )
    bed.services.catalog = CatalogStore.load(path)


def test_only_the_allowed_group_may_confirm_a_rollback(
    bed: Testbed, cluster: FakeCluster, tmp_path: Path
) -> None:
    alice, bob = bed.people["alice"], bed.people["bob"]
    bed.emulator.add_usergroup("sre", [bob])
    with_policy(bed, tmp_path, {"allow": {"rollback": {"usergroups": ["sre"]}}})
    cluster.create_deployment(NS, "api", "img:v1")
    set_image(cluster, "img:v2")
    inc = declare(bed)  # alice commands it, but the policy names the group
    channel = inc["channel_id"]
    bed.driver.command("rollback api", user_id=alice, channel_id=channel)
    value = confirm_value(bed)

    bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
    denied = bed.wait_for(lambda: actions(bed, "denied") or None, timeout=20)[0]
    assert denied["actor"] == alice and "@sre" in denied["data"]["reason"]
    bed.wait_for(lambda: "only @sre may rollback" in texts(bed))
    assert image_of(cluster) == "img:v2"

    bed.driver.block_action("ops_confirm", value=value, user_id=bob, channel_id=channel)
    done = bed.wait_for(lambda: actions(bed) or None, timeout=20)[0]
    assert done["actor"] == bob and done["data"]["outcome"] == "succeeded"
    assert image_of(cluster) == "img:v1"


def test_namespace_outside_the_policy_is_refused_and_audited(
    bed: Testbed, cluster: FakeCluster, tmp_path: Path
) -> None:
    with_policy(bed, tmp_path, {"namespaces": ["staging-*"]})
    cluster.create_deployment(NS, "api", "img:v1")
    set_image(cluster, "img:v2")
    inc = declare(bed)
    alice = bed.people["alice"]
    bed.driver.command("rollback api", user_id=alice, channel_id=inc["channel_id"])
    bed.wait_for(lambda: "may not operate in namespace `prod`" in texts(bed), timeout=20)
    [denied] = bed.wait_for(lambda: actions(bed, "denied") or None)
    assert denied["actor"] == alice and denied["data"]["target"] == f"{NS}/api"
    assert denied["data"]["rule"] == "namespace not in operations.namespaces"
    assert "ops_confirm" not in str([r.body for r in bed.emulator.responses()])
    assert image_of(cluster) == "img:v2"


def test_the_audit_names_the_rule_that_refused_or_allowed(
    bed: Testbed, cluster: FakeCluster, tmp_path: Path
) -> None:
    alice, bob = bed.people["alice"], bed.people["bob"]
    bed.emulator.add_usergroup("sre-oncall", [bob])
    with_policy(bed, tmp_path, {"allow": {"rollback": {"usergroups": ["sre-oncall"]}}})
    cluster.create_deployment(NS, "api", "img:v1")
    set_image(cluster, "img:v2")
    inc = declare(bed)
    channel = inc["channel_id"]
    bed.driver.command("rollback api", user_id=alice, channel_id=channel)
    value = confirm_value(bed)

    bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
    [denied] = bed.wait_for(lambda: actions(bed, "denied") or None, timeout=20)
    assert denied["data"]["rule"] == "catalog operations.allow.rollback"
    assert denied["data"]["decision"] == {
        "allowed": False,
        "user": alice,
        "action": "rollback",
        "target": f"{NS}/api",
        "rule": "catalog operations.allow.rollback",
        "reason": "only @sre-oncall may rollback (the catalog's policy)",
    }

    bed.driver.block_action("ops_confirm", value=value, user_id=bob, channel_id=channel)
    [done] = bed.wait_for(lambda: actions(bed) or None, timeout=20)
    assert done["actor"] == bob and done["data"]["outcome"] == "succeeded"
    rule = "catalog operations.allow.rollback usergroup sre-oncall"
    assert done["data"]["rule"] == rule
    decision = done["data"]["decision"]
    assert decision["allowed"] and decision["user"] == bob and decision["rule"] == rule
    assert decision["action"] == "rollback" and decision["target"] == f"{NS}/api"


def test_without_a_catalog_the_commander_rule_decides(bed: Testbed, cluster: FakeCluster) -> None:
    alice, bob = bed.people["alice"], bed.people["bob"]
    cluster.create_deployment(NS, "api", "img:v1", replicas=2)
    inc = declare(bed)  # alice commands it
    channel = inc["channel_id"]
    bed.driver.command(f"scale api 3 -n {NS}", user_id=alice, channel_id=channel)
    value = confirm_value(bed)

    bed.driver.block_action("ops_confirm", value=value, user_id=bob, channel_id=channel)
    [denied] = bed.wait_for(lambda: actions(bed, "denied") or None, timeout=20)
    assert denied["data"]["rule"] == "commander or reporter of the incident"
    assert denied["data"]["decision"]["user"] == bob

    bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
    [done] = bed.wait_for(lambda: actions(bed) or None, timeout=20)
    assert done["data"]["outcome"] == "succeeded"
    assert done["data"]["rule"] == "commander of the incident"
    assert done["data"]["decision"]["target"] == f"{NS}/api"


def test_replica_limits_per_deployment(bed: Testbed, cluster: FakeCluster, tmp_path: Path) -> None:
    with_policy(bed, tmp_path, {"replicas": {"prod/api": {"min": 2, "max": 4}}})
    cluster.create_deployment(NS, "api", "img:v1", replicas=3)
    inc = declare(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]
    bed.driver.command("scale api 1", user_id=alice, channel_id=channel)
    bed.wait_for(lambda: "below the minimum of 2 for prod/api" in texts(bed), timeout=20)
    bed.driver.command("scale api 6", user_id=alice, channel_id=channel)
    bed.wait_for(lambda: "above the maximum of 4 for prod/api" in texts(bed), timeout=20)
    assert len(actions(bed, "denied")) == 2
    bed.driver.command("scale api 4", user_id=alice, channel_id=channel)
    value = confirm_value(bed)
    bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
    bed.wait_for(lambda: actions(bed) or None, timeout=20)
    assert cluster.deployment(NS, "api")["spec"]["replicas"] == 4


def test_a_bad_policy_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yml"
    path.write_text("services: []\noperations:\n  replicas:\n    api: {min: 5, max: 2}\n")
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    assert f"{path}:4" in str(err.value) and "max must not be below min" in str(err.value)
