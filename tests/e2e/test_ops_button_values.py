"""The plan's Confirm/Cancel carry only the id of a plan kept server-side: a plan for the longest
names Kubernetes allows still fits Slack's 2,000-character button value and still runs; an
expired plan or a value warroom never gave a button is answered, never a crash."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from warroom_sandbox.fake_cluster import FakeCluster
from warroom_sandbox.fake_cluster.resources import DEPLOYMENTS
from warroom_sandbox.slack_emulator.blockkit import check_message_blocks
from warroom_sandbox.testbed import Testbed

from bot.flows.card import _STASH_PREFIX
from tests.e2e.test_operations import NS, actions, declare, image_of, set_image, texts
from tests.e2e.test_operations import cluster as _cluster

cluster = _cluster  # the fake cluster fixture, shared with test_operations

# The longest names Kubernetes accepts: a Deployment is a DNS-1123 subdomain (253), a
# namespace and a container a DNS-1123 label (63); an image reference has no fixed limit.
LONG_NS = "ns-" + "n" * 59 + "s"
LONG_DEPLOY = ".".join(["d" * 63, "e" * 63, "p" * 63, "l" * 61])
CONTAINERS = [f"c{i}-" + "x" * 59 + str(i) for i in range(5)]
BUTTON_VALUE = 2000


def long_image(i: int, tag: str) -> str:
    return f"registry.example.com:5000/{'team/' * 20}{'image' * 24}-{i}:{tag}-{'t' * 100}"


def long_images(tag: str) -> dict[str, str]:
    return {name: long_image(i, tag) for i, name in enumerate(CONTAINERS)}


def deploy_long(cluster: FakeCluster, replicas: int = 2) -> None:
    images = long_images("v1")
    first, *rest = CONTAINERS
    cluster.create_deployment(
        LONG_NS,
        LONG_DEPLOY,
        images[first],
        replicas=replicas,
        container=first,
        labels={"app": "long"},  # a label value holds 63, not the Deployment's 253
        extra_containers=[{"name": n, "image": images[n]} for n in rest],
    )


def images_now(cluster: FakeCluster) -> dict[str, str]:
    spec = cluster.deployment(LONG_NS, LONG_DEPLOY)["spec"]["template"]["spec"]
    return {c["name"]: c["image"] for c in spec["containers"]}


def button_values(blocks: list[dict[str, Any]] | None) -> dict[str, str]:
    return {
        el["action_id"]: el["value"]
        for block in blocks or []
        for el in block.get("elements") or []
        if el.get("type") == "button"
    }


def accepted_plan(bed: Testbed, seen: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The plan answer the emulator accepted (status 200), and its buttons' values."""

    def find() -> Any:
        for r in bed.emulator.responses()[seen:]:
            values = button_values(r.body.get("blocks"))
            if "ops_confirm" in values:
                return r, values
        return None

    record, values = bed.wait_for(find, timeout=20)
    assert record.status == 200, f"the emulator refused the plan: {record.status}"
    return record.body, values


def plan(bed: Testbed, command: str, channel: str) -> dict[str, str]:
    seen = len(bed.emulator.responses())
    bed.driver.command(command, user_id=bed.people["alice"], channel_id=channel)
    body, values = accepted_plan(bed, seen)
    check_message_blocks(body["blocks"])  # what real Slack would accept, as the emulator does
    assert set(values) == {"ops_confirm", "ops_cancel"}
    assert all(len(v) <= BUTTON_VALUE for v in values.values())
    assert values["ops_confirm"] == values["ops_cancel"]
    return values


def press(bed: Testbed, action_id: str, value: str, channel: str) -> str:
    """Press and return the texts answered to that very press (its own response_url)."""
    alice = bed.people["alice"]
    url = bed.emulator.new_response_url(channel, alice)
    bed.driver.block_action(
        action_id, value=value, user_id=alice, channel_id=channel, response_url=url
    )
    return bed.wait_for(
        lambda: "\n".join(r.body.get("text") or "" for r in bed.emulator.responses(url)) or None,
        timeout=20,
    )


def patches(cluster: FakeCluster) -> int:
    return sum(1 for r in cluster.requests if r.method == "PATCH")


def test_rollback_of_the_longest_names_fits_and_runs(bed: Testbed, cluster: FakeCluster) -> None:
    deploy_long(cluster)
    v2 = long_images("v2")
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": n, "image": image} for n, image in v2.items()
    ]}}}}  # fmt: skip
    cluster.api.patch(
        DEPLOYMENTS, LONG_NS, LONG_DEPLOY, "application/strategic-merge-patch+json", patch
    )
    assert images_now(cluster) == v2
    # the plan as the button used to carry it would not have fitted
    assert 2 * sum(len(n) + len(i) for n, i in v2.items()) > BUTTON_VALUE
    inc = declare(bed)
    channel = inc["channel_id"]

    values = plan(bed, f"rollback {LONG_DEPLOY} -n {LONG_NS}", channel)
    assert images_now(cluster) == v2  # nothing changes before Confirm

    press(bed, "ops_confirm", values["ops_confirm"], channel)
    row = bed.wait_for(lambda: actions(bed) or None, timeout=20)[0]
    assert row["data"]["outcome"] == "succeeded"
    assert images_now(cluster) == long_images("v1")
    assert row["data"]["before"]["images"] == v2


def test_scale_of_the_longest_names_fits_runs_once_and_cancels(
    bed: Testbed, cluster: FakeCluster
) -> None:
    deploy_long(cluster, replicas=2)
    inc = declare(bed)
    channel = inc["channel_id"]

    values = plan(bed, f"scale {LONG_DEPLOY} 4 -n {LONG_NS}", channel)
    press(bed, "ops_confirm", values["ops_confirm"], channel)
    bed.wait_for(lambda: actions(bed) or None, timeout=20)
    assert cluster.deployment(LONG_NS, LONG_DEPLOY)["spec"]["replicas"] == 4
    before = patches(cluster)

    # the same button again (a new click): still one change
    again = press(bed, "ops_confirm", values["ops_confirm"], channel)
    bed.wait_for(lambda: "already" in texts(bed).split("Working on")[-1])
    assert "Working on" in again
    assert patches(cluster) == before
    assert [a["data"]["outcome"] for a in actions(bed)] == ["succeeded"]

    # Cancel reads the same kept plan, and tells the truth about it
    answer = press(bed, "ops_cancel", values["ops_cancel"], channel)
    assert "Too late to cancel" in answer and "scale it back to 2" in answer


def test_cancel_of_a_plan_not_confirmed(bed: Testbed, cluster: FakeCluster) -> None:
    deploy_long(cluster, replicas=2)
    inc = declare(bed)
    channel = inc["channel_id"]
    values = plan(bed, f"scale {LONG_DEPLOY} 5 -n {LONG_NS}", channel)
    answer = press(bed, "ops_cancel", values["ops_cancel"], channel)
    assert answer.startswith("Cancelled: no scale of")
    assert cluster.deployment(LONG_NS, LONG_DEPLOY)["spec"]["replicas"] == 2


def test_an_expired_plan_is_answered(bed: Testbed, cluster: FakeCluster) -> None:
    cluster.create_deployment(NS, "api", "img:v1", replicas=3)
    set_image(cluster, "img:v2")
    inc = declare(bed)
    channel = inc["channel_id"]
    values = plan(bed, f"rollback api -n {NS}", channel)
    kept = redis.Redis.from_url(bed.redis_server.url)
    assert kept.delete(_STASH_PREFIX + values["ops_confirm"]) == 1  # as after its 24 h

    answer = press(bed, "ops_confirm", values["ops_confirm"], channel)
    assert "This plan has expired; run the command again" in answer
    assert "Traceback" not in answer and "Error" not in answer
    answer = press(bed, "ops_cancel", values["ops_cancel"], channel)
    assert "expired" in answer
    assert image_of(cluster) == "img:v2"
    assert patches(cluster) == 0  # warroom sent no PATCH (set_image is no HTTP request)
    assert not actions(bed)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("42", "does not describe an operation"),
        ("x" * 2000, "does not describe an operation"),  # longer, the request guard refuses
        ("../../etc/passwd", "does not describe an operation"),
        ("", "does not describe an operation"),
        ("A" * 16, "expired"),  # an id warroom may have given, no longer kept
        # a Confirm posted before plans were kept server-side (or forged in that shape)
        ('{"a":"scale","ns":"prod","d":"api","n":1,"args":{"replicas":9},"id":"x"}', "expired"),
        ("OTHERSTASHID", "does not describe an operation"),  # another feature's stash
    ],
)
def test_a_value_warroom_did_not_give_is_refused(
    bed: Testbed, cluster: FakeCluster, value: str, said: str
) -> None:
    cluster.create_deployment(NS, "api", "img:v1", replicas=3)
    redis.Redis.from_url(bed.redis_server.url).set(
        _STASH_PREFIX + "OTHERSTASHID", "a resolve summary", ex=60
    )
    inc = declare(bed)
    answer = press(bed, "ops_confirm", value, inc["channel_id"])
    assert said in answer and "nothing was done" in answer.lower()
    assert cluster.deployment(NS, "api")["spec"]["replicas"] == 3
    assert patches(cluster) == 0
    assert not actions(bed)
