"""Recent changes (issue 15 A): an incident naming a catalog service shows that service's
Deployment rollouts on the card, marks the one just before the incident as the suspect (on
the timeline once), and its **Roll back this** button plans the very rollback of
`/incident rollback <deployment> --to-revision <previous>`, applied only on Confirm."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from warroom_sandbox.fake_cluster import FakeCluster, kubectl_path, running_cluster
from warroom_sandbox.fake_cluster.resources import DEPLOYMENTS
from warroom_sandbox.testbed import Testbed

from bot.adapters.catalog.model import Catalog, KubernetesTarget, Service
from bot.adapters.catalog.store import CatalogStore
from bot.adapters.kube import load_api_client
from bot.clock import Clock
from bot.slack.ui.changes import ROLLBACK_SUSPECT
from tests.e2e.test_declare import setup_finished

NS = "prod"
CAUSE = "deploy img:v2 (PR #412)"


def set_image(cluster: FakeCluster, image: str, cause: str | None = None) -> None:
    patch: dict[str, Any] = {
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}
    }
    if cause:
        patch["metadata"] = {"annotations": {"kubernetes.io/change-cause": cause}}
    cluster.api.patch(DEPLOYMENTS, NS, "api", "application/strategic-merge-patch+json", patch)


@pytest.fixture
def harness(bed: Testbed, tmp_path: Path) -> Iterator[Any]:
    """api rolled out 3 h ago (img:v1), then again 10 minutes ago (img:v2): the cluster's
    clock is moved, so the ReplicaSets carry those creation times."""
    clock = Clock()
    cluster = FakeCluster(clock=clock)
    cluster.rollout_delay = 0.0
    clock.advance(timedelta(hours=-3))
    cluster.create_deployment(NS, "api", "img:v1")
    clock.advance(timedelta(hours=2, minutes=50))
    set_image(cluster, "img:v2", CAUSE)
    clock.advance(timedelta(minutes=10))
    cluster.reconcile()
    with running_cluster(tmp_path, cluster, namespace=NS) as h:
        api = load_api_client(kubeconfig=str(h.kubeconfig))
        bed.services.kube.use(api)
        bed.services.catalog = CatalogStore.of(
            Catalog(
                services=[
                    Service(
                        name="checkout",
                        health_url="http://127.0.0.1:9/health",
                        kubernetes=KubernetesTarget(namespace=NS, deployment="api"),
                    ),
                    Service(name="search", health_url="http://127.0.0.1:9/health"),
                ]
            )
        )
        try:
            yield h
        finally:
            bed.services.kube.use(None)
            api.close()


def declare(bed: Testbed) -> dict:
    general = bed.emulator.channel_by_name("general").id
    bed.driver.command(
        "declare SEV2 Checkout errors --service checkout",
        user_id=bed.people["alice"],
        channel_id=general,
    )
    return bed.wait_for(lambda: setup_finished(bed), timeout=20)


def card(bed: Testbed, inc: dict) -> Any:
    return bed.emulator.message(inc["channel_id"], inc["card_ts"])


def card_text(bed: Testbed, inc: dict) -> str:
    return json.dumps(card(bed, inc).blocks, ensure_ascii=False)


def button_value(bed: Testbed, inc: dict) -> str | None:
    for block in card(bed, inc).blocks:
        for el in block.get("elements") or []:
            if el.get("action_id") == ROLLBACK_SUSPECT:
                return el["value"]
    return None


def image_of(cluster: FakeCluster) -> str:
    return cluster.deployment(NS, "api")["spec"]["template"]["spec"]["containers"][0]["image"]


def suspects(bed: Testbed) -> list[dict[str, Any]]:
    return bed.rows("SELECT * FROM timeline_events WHERE kind = 'suspect_change' ORDER BY id")


def confirm_ephemerals(bed: Testbed) -> list[tuple[Any, str]]:
    found = []
    for e in bed.emulator.ephemerals(user=bed.people["alice"]):
        for block in e.blocks or []:
            for el in block.get("elements") or []:
                if el.get("action_id") == "ops_confirm":
                    found.append((e, el["value"]))
    return found


def plan_text(eph: Any) -> str:
    return "\n".join(
        (b.get("text") or {}).get("text", "") for b in eph.blocks or [] if b["type"] == "section"
    )


def test_card_shows_the_suspect_and_rolls_it_back_on_confirm(bed: Testbed, harness: Any) -> None:
    cluster: FakeCluster = harness.cluster
    inc = declare(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]

    shown = card_text(bed, inc)
    assert "*Recent changes* (`checkout`)" in shown
    assert "Suspect:" in shown and "rev 2" in shown
    assert "img:v1 → img:v2" in shown and CAUSE in shown
    assert "(first revision) img:v1" in shown and "rev 1" in shown
    assert "<!date^" in shown  # the reader's time, with a UTC fallback
    # newest first
    assert shown.index("rev 2") < shown.index("rev 1")
    value = button_value(bed, inc)
    assert value is not None and json.loads(value)["to"] == 1

    # kubectl, the reference, agrees on the revisions and the cause
    if kubectl_path() is not None:
        out = harness.kubectl("rollout", "history", "deployment/api", "-n", NS, check=True).stdout
        numbers = [line.split()[0] for line in out.splitlines()[2:] if line.strip()]
        assert numbers == ["1", "2"]
        assert CAUSE in out

    # the suspect is on the timeline once, dated when it rolled out (before the declaration)
    [row] = suspects(bed)
    assert row["dedupe_key"] == f"suspect:{inc['number']}:default/{NS}/api:2"
    assert row["occurred_at"] < bed.rows("SELECT declared_at FROM incidents")[0]["declared_at"]
    assert "img:v1 → img:v2" in row["text"]

    # the same plan as the slash command
    bed.driver.command("rollback api --to-revision 1", user_id=alice, channel_id=channel)
    bed.wait_for(lambda: len(confirm_ephemerals(bed)) + len(_responses_with_confirm(bed)) >= 1)
    by_command = _responses_with_confirm(bed)[-1]

    bed.driver.block_action(ROLLBACK_SUSPECT, value=value, user_id=alice, channel_id=channel)
    eph, confirm = bed.wait_for(lambda: (confirm_ephemerals(bed) or [None])[-1], timeout=20)
    assert plan_text(eph) == by_command
    assert "img:v2" in plan_text(eph) and "img:v1" in plan_text(eph)
    assert image_of(cluster) == "img:v2"  # nothing changes before Confirm

    bed.driver.block_action("ops_confirm", value=confirm, user_id=alice, channel_id=channel)
    bed.wait_for(lambda: image_of(cluster) == "img:v1", timeout=20)
    [action] = bed.wait_for(
        lambda: bed.rows("SELECT * FROM timeline_events WHERE kind = 'action'"), timeout=20
    )
    assert action["data"]["after"]["images"] == {"app": "img:v1"}

    # a card refresh (acknowledge) does not record the suspect again
    bed.driver.command("ack", user_id=alice, channel_id=channel)
    bed.wait_for(lambda: "Acknowledged" in json.dumps(card(bed, inc).blocks) or None, timeout=10)
    assert len(suspects(bed)) == 1


def _responses_with_confirm(bed: Testbed) -> list[str]:
    out = []
    for r in bed.emulator.responses():
        blocks = r.body.get("blocks") or []
        if any(
            el.get("action_id") == "ops_confirm" for b in blocks for el in b.get("elements") or []
        ):
            out.append(
                "\n".join(
                    (b.get("text") or {}).get("text", "") for b in blocks if b["type"] == "section"
                )
            )
    return out


def test_changes_command_shows_the_same_and_names_known_services(
    bed: Testbed, harness: Any
) -> None:
    inc = declare(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]

    bed.driver.command("changes", user_id=alice, channel_id=channel)
    said = bed.wait_for(
        lambda: next(
            (
                r.body["text"]
                for r in bed.emulator.responses()
                if "Recent changes" in r.body.get("text", "")
            ),
            None,
        ),
        timeout=10,
    )
    assert "Suspect:" in said and "img:v1 → img:v2" in said
    [on_card] = [
        b["text"]["text"]
        for b in card(bed, inc).blocks
        if b["type"] == "section" and "Recent changes" in (b.get("text") or {}).get("text", "")
    ]
    assert said == on_card  # the same section, on demand

    resp = bed.driver.command("changes nope", user_id=alice, channel_id=channel)
    acked = resp.json().get("text", "") if resp.content else ""

    def texts() -> str:
        return acked + "\n".join(r.body.get("text") or "" for r in bed.emulator.responses())

    bed.wait_for(lambda: "Unknown service `nope`" in texts(), timeout=10)
    assert "Known: `checkout`" in texts()

    bed.driver.command("changes search", user_id=alice, channel_id=channel)
    bed.wait_for(lambda: "has no Kubernetes Deployment" in texts(), timeout=10)
    assert len(suspects(bed)) == 1


def test_a_cluster_that_cannot_be_read_is_one_line(bed: Testbed, harness: Any) -> None:
    harness.cluster.inject_fault("GET", "*/deployments/api", 500, count=None, message="etcd is sad")
    inc = declare(bed)
    shown = card_text(bed, inc)
    assert "*Recent changes* (`checkout`)" in shown
    assert "changes unavailable:" in shown
    assert shown.count("changes unavailable:") == 1
    assert button_value(bed, inc) is None
    # the rest of the card is intact
    assert any(b["type"] == "actions" for b in card(bed, inc).blocks)
    assert suspects(bed) == []


def test_the_suspect_window_is_a_setting(bed: Testbed, harness: Any) -> None:
    """WARROOM_SUSPECT_WINDOW_MIN: revision 2 rolled out 10 min before the incident, so a
    5-minute window lists it but suspects nothing."""
    settings = bed.services.settings
    old = settings.warroom_suspect_window_min
    settings.warroom_suspect_window_min = 5
    try:
        inc = declare(bed)
        shown = card_text(bed, inc)
        assert "rev 2" in shown and "img:v1 → img:v2" in shown
        assert "Suspect:" not in shown and button_value(bed, inc) is None
        assert suspects(bed) == []
    finally:
        settings.warroom_suspect_window_min = old
