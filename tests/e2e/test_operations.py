"""Runbook operations end to end: slash command → Confirm button → fake cluster → timeline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from warroom_sandbox.fake_cluster import FakeCluster, start_fake_cluster, write_kubeconfig
from warroom_sandbox.fake_cluster.resources import DEPLOYMENTS
from warroom_sandbox.testbed import Testbed

from bot.adapters.catalog.store import CatalogStore
from bot.adapters.kube import load_api_client
from tests.e2e.test_declare import setup_finished

NS = "prod"


def set_image(cluster: FakeCluster, image: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    cluster.api.patch(DEPLOYMENTS, NS, "api", "application/strategic-merge-patch+json", patch)


@pytest.fixture
def cluster(bed: Testbed, tmp_path: Path) -> Iterator[FakeCluster]:
    fake = FakeCluster()
    fake.rollout_delay = 0.0
    running = start_fake_cluster(fake)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", running.url, namespace=NS)
    api = load_api_client(kubeconfig=str(kubeconfig))
    bed.services.kube.use(api)
    try:
        yield fake
    finally:
        bed.services.kube.use(None)
        api.close()
        running.stop()


def declare(bed: Testbed) -> dict:
    bed.driver.command("declare SEV2 api is down", user_id=bed.people["alice"], channel_id="C0GEN")
    return bed.wait_for(lambda: setup_finished(bed))


def image_of(cluster: FakeCluster) -> str:
    return cluster.deployment(NS, "api")["spec"]["template"]["spec"]["containers"][0]["image"]


def texts(bed: Testbed) -> str:
    return "\n".join(r.body.get("text") or "" for r in bed.emulator.responses())


def confirm_value(bed: Testbed) -> str:
    def find() -> str | None:
        for r in reversed(bed.emulator.responses()):
            for block in r.body.get("blocks") or []:
                for el in block.get("elements") or []:
                    if el.get("action_id") == "ops_confirm":
                        return el["value"]
        return None

    return bed.wait_for(find)


def actions(bed: Testbed, kind: str = "action") -> list[dict[str, Any]]:
    return bed.rows("SELECT * FROM timeline_events WHERE kind = :k ORDER BY id", k=kind)


def deployment_patches(cluster: FakeCluster) -> list[Any]:
    return [
        r for r in cluster.requests if r.method == "PATCH" and r.path.endswith("/deployments/api")
    ]


def test_rollback_end_to_end(bed: Testbed, cluster: FakeCluster) -> None:
    cluster.create_deployment(NS, "api", "img:v1")
    set_image(cluster, "img:v2")
    inc = declare(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]

    bed.driver.command(f"rollback api -n {NS}", user_id=alice, channel_id=channel)
    value = confirm_value(bed)
    assert len(value) <= 64 and "{" not in value  # the plan's id; the plan stays server-side
    assert "img:v2" in texts(bed) and "img:v1" in texts(bed)
    assert image_of(cluster) == "img:v2"  # nothing changes before Confirm

    bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
    row = bed.wait_for(lambda: actions(bed) or None, timeout=20)[0]
    assert image_of(cluster) == "img:v1"
    assert row["actor"] == alice
    assert row["data"]["outcome"] == "succeeded"
    assert row["data"]["before"]["images"] == {"app": "img:v2"}
    assert row["data"]["after"]["images"] == {"app": "img:v1"}
    # The verdict is posted after the outcome is recorded: wait for what the channel sees.
    bed.wait_for(
        lambda: (
            "rollback of prod/api succeeded"
            in "\n".join(m.text for m in bed.emulator.messages(channel))
        ),
        timeout=20,
    )


def test_scale_three_to_six(bed: Testbed, cluster: FakeCluster) -> None:
    cluster.create_deployment(NS, "api", "img:v1", replicas=3)
    inc = declare(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]

    bed.driver.command(f"scale api 6 -n {NS}", user_id=alice, channel_id=channel)
    value = confirm_value(bed)
    assert "replicas 3 → 6" in texts(bed)
    bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
    row = bed.wait_for(lambda: actions(bed) or None, timeout=20)[0]
    assert cluster.deployment(NS, "api")["spec"]["replicas"] == 6
    assert row["data"]["before"] == {"replicas": 3}
    assert row["data"]["after"]["replicas"] == 6


def test_confirm_pressed_again_after_the_change_does_nothing_more(
    bed: Testbed, cluster: FakeCluster
) -> None:
    cluster.create_deployment(NS, "api", "img:v1", replicas=3)
    set_image(cluster, "img:v2")
    inc = declare(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]
    for command, done in ((f"rollback api -n {NS}", 1), (f"restart api -n {NS}", 2)):
        seen = len(bed.emulator.responses())
        bed.driver.command(command, user_id=alice, channel_id=channel)
        value = bed.wait_for(
            lambda: confirm_value(bed) if len(bed.emulator.responses()) > seen else None
        )
        patches = len(deployment_patches(cluster))
        bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
        bed.wait_for(lambda: len(succeeded(bed)) == done or None, timeout=20)
        assert len(deployment_patches(cluster)) == patches + 1
        # the same Confirm, a minute later (a new click, so a new action_ts)
        bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
        answer = bed.wait_for(
            lambda: "already" in texts(bed).split("Working on")[-1] and texts(bed)
        )
        assert "nothing more was done" in answer or "already in the planned state" in answer
        assert len(deployment_patches(cluster)) == patches + 1
    assert image_of(cluster) == "img:v1"
    outcomes = [a["data"]["outcome"] for a in actions(bed)]
    assert outcomes == ["succeeded", "succeeded"]  # a repeated Confirm is no new action


def succeeded(bed: Testbed) -> list[dict[str, Any]]:
    return [a for a in actions(bed) if a["data"].get("outcome") == "succeeded"]


def test_scale_above_limit_is_refused(bed: Testbed, cluster: FakeCluster) -> None:
    cluster.create_deployment(NS, "api", "img:v1", replicas=3)
    inc = declare(bed)
    resp = bed.driver.command(
        f"scale api 500 -n {NS}", user_id=bed.people["alice"], channel_id=inc["channel_id"]
    )
    assert "above the limit" in resp.text


def test_unauthorised_user_is_refused_and_audited(bed: Testbed, cluster: FakeCluster) -> None:
    cluster.create_deployment(NS, "api", "img:v1")
    set_image(cluster, "img:v2")
    inc = declare(bed)
    channel = inc["channel_id"]
    bed.driver.command(f"rollback api -n {NS}", user_id=bed.people["alice"], channel_id=channel)
    value = confirm_value(bed)

    bob = bed.people["bob"]
    bed.driver.block_action("ops_confirm", value=value, user_id=bob, channel_id=channel)
    denied = bed.wait_for(lambda: actions(bed, "denied") or None)[0]
    assert denied["actor"] == bob
    assert "commander" in denied["data"]["reason"]
    bed.wait_for(lambda: "not allowed" in texts(bed))
    assert image_of(cluster) == "img:v2"
    assert not actions(bed)
    assert not deployment_patches(cluster)


def test_two_concurrent_confirms_roll_out_once(bed: Testbed, cluster: FakeCluster) -> None:
    cluster.create_deployment(NS, "api", "img:v1")
    set_image(cluster, "img:v2")
    cluster.rollout_delay = 0.5
    inc = declare(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]
    bed.driver.command(f"rollback api -n {NS}", user_id=alice, channel_id=channel)
    value = confirm_value(bed)

    def click() -> None:
        bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bed.wait_for(
        lambda: any(r["data"].get("outcome") == "succeeded" for r in actions(bed)), timeout=20
    )
    bed.wait_for(
        lambda: "already in progress" in texts(bed) or "changed since" in texts(bed), timeout=10
    )
    # one rollout: revision 1's template came back once, as revision 3 (a second rollback
    # would have gone on to revision 4 with img:v2 again)
    meta = cluster.deployment(NS, "api")["metadata"]
    assert meta["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert image_of(cluster) == "img:v1"
    assert [r["data"]["outcome"] for r in actions(bed)].count("succeeded") == 1


def test_no_previous_revision_is_a_plain_message(bed: Testbed, cluster: FakeCluster) -> None:
    cluster.create_deployment(NS, "api", "img:v1")
    inc = declare(bed)
    bed.driver.command(
        f"rollback api -n {NS}", user_id=bed.people["alice"], channel_id=inc["channel_id"]
    )
    bed.wait_for(lambda: "no previous revision" in texts(bed))
    assert "Traceback" not in texts(bed)
    assert not deployment_patches(cluster)


def test_bad_input_is_answered(bed: Testbed, cluster: FakeCluster) -> None:
    inc = declare(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]
    assert "Usage" in bed.driver.command("rollback", user_id=alice, channel_id=channel).text
    resp = bed.driver.command("scale api lots", user_id=alice, channel_id=channel)
    assert "whole number" in resp.text


def test_kube_error_is_plain_audited_and_releases_the_lock(
    bed: Testbed, cluster: FakeCluster
) -> None:
    cluster.create_deployment(NS, "api", "img:v1")
    set_image(cluster, "img:v2")
    inc = declare(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]
    cluster.inject_fault("PATCH", "*/deployments/api", 403, count=1)
    bed.driver.command(f"rollback api -n {NS}", user_id=alice, channel_id=channel)
    bed.driver.block_action(
        "ops_confirm", value=confirm_value(bed), user_id=alice, channel_id=channel
    )
    row = bed.wait_for(lambda: actions(bed) or None, timeout=20)[0]
    assert row["data"]["outcome"] == "failed"  # confirmed, then the API failed it
    assert "Traceback" not in texts(bed)
    assert image_of(cluster) == "img:v2"

    # the lock was released: the same change goes through on a second try
    before = len(bed.emulator.responses())
    bed.driver.command(f"rollback api -n {NS}", user_id=alice, channel_id=channel)
    bed.wait_for(lambda: len(bed.emulator.responses()) > before)
    bed.driver.block_action(
        "ops_confirm", value=confirm_value(bed), user_id=alice, channel_id=channel
    )
    bed.wait_for(lambda: len(actions(bed)) == 2, timeout=20)
    assert actions(bed)[1]["data"]["outcome"] == "succeeded"
    assert image_of(cluster) == "img:v1"


def test_dry_run_changes_nothing(bed: Testbed, cluster: FakeCluster) -> None:
    bed.services.settings = bed.services.settings.model_copy(update={"warroom_ops_dry_run": True})
    cluster.create_deployment(NS, "api", "img:v1", replicas=3)
    inc = declare(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]
    bed.driver.command(f"scale api 6 -n {NS}", user_id=alice, channel_id=channel)
    bed.driver.block_action(
        "ops_confirm", value=confirm_value(bed), user_id=alice, channel_id=channel
    )
    row = bed.wait_for(lambda: actions(bed) or None, timeout=20)[0]
    assert row["data"]["outcome"] == "dry_run"
    bed.wait_for(lambda: "Dry run" in texts(bed))  # the reply follows the timeline row
    assert cluster.deployment(NS, "api")["spec"]["replicas"] == 3
    assert not [r for r in cluster.requests if r.method == "PATCH"]


def test_check_posts_one_message_and_records_it(
    bed: Testbed, cluster: FakeCluster, tmp_path: Path
) -> None:
    cluster.create_deployment(NS, "api", "img:v1", replicas=2)
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(
        "services:\n"
        f"  - name: api\n    health_url: {bed.url}/healthz\n"
        f"    kubernetes: {{namespace: {NS}, deployment: api}}\n"
        "  - name: web\n    health_url: http://127.0.0.1:9/down\n"
    )
    bed.services.catalog = CatalogStore.load(catalog)
    inc = declare(bed)
    channel = inc["channel_id"]
    bed.driver.command("check all", user_id=bed.people["alice"], channel_id=channel)
    row = bed.wait_for(lambda: actions(bed, "check") or None, timeout=20)[0]
    services = {r["service"] for r in row["data"]["results"]}
    assert services == {"api", "web"}
    posted = bed.wait_for(
        lambda: [m.text for m in bed.emulator.messages(channel) if "Status checks" in m.text]
    )
    assert len(posted) == 1
    assert "✅ api" in posted[0] and "❌ web" in posted[0]
    resp = bed.driver.command("check nope", user_id=bed.people["alice"], channel_id=channel)
    assert "Unknown service" in resp.text
