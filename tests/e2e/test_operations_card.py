"""The card's Rollback… and Scale… buttons: modal → plan ephemeral → Confirm → fake cluster."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from warroom_sandbox.fake_cluster import FakeCluster
from warroom_sandbox.testbed import Testbed

from bot.adapters.catalog.store import CatalogStore
from bot.slack.ui import card_buttons
from bot.slack.ui.operations import NO_CLUSTER_VIEW, ROLLBACK_VIEW, SCALE_VIEW
from handlers.operations_card import BUTTONS, CHECKS, CHECKS_BUTTON, ROLLBACK, SCALE
from tests.e2e.test_card_buttons import modal, press
from tests.e2e.test_lifecycle import card, declared
from tests.e2e.test_operations import NS, actions, image_of, set_image
from tests.e2e.test_operations import cluster as _cluster

cluster = _cluster  # the fake cluster fixture, shared with test_operations


@pytest.fixture
def ops_buttons(monkeypatch: pytest.MonkeyPatch) -> None:
    """Show the buttons on cards declared in this test (as when a cluster is configured)."""
    for button in (*BUTTONS, CHECKS_BUTTON):
        monkeypatch.setitem(card_buttons._BUTTONS, button.action_id, button)


@pytest.fixture
def with_catalog(bed: Testbed, tmp_path: Path) -> Path:
    path = tmp_path / "catalog.yml"
    path.write_text(
        "services:\n"
        f"  - name: api\n    health_url: {bed.url}/healthz\n"
        f"    kubernetes: {{namespace: {NS}, deployment: api}}\n"
    )
    bed.services.catalog = CatalogStore.load(path)
    return path


def confirm_ephemeral(bed: Testbed, who: str = "alice") -> Any:
    def find() -> Any:
        for e in reversed(bed.emulator.ephemerals(user=bed.people[who])):
            for block in e.blocks or []:
                for el in block.get("elements") or []:
                    if el.get("action_id") == "ops_confirm":
                        return e, el["value"]
        return None

    return bed.wait_for(find, timeout=20)


def test_rollback_from_the_card(
    bed: Testbed, cluster: FakeCluster, with_catalog: Path, ops_buttons: None
) -> None:
    cluster.create_deployment(NS, "api", "img:v1")
    set_image(cluster, "img:v2")
    inc = declared(bed)
    [row] = [b for b in card(bed, inc).blocks if b["type"] == "actions"]
    ids = [e["action_id"] for e in row["elements"]]
    assert ROLLBACK in ids and SCALE in ids

    press(bed, inc, ROLLBACK)
    view = modal(bed, ROLLBACK_VIEW)
    [target] = [b for b in view.blocks if b.get("block_id") == "target"]
    options = [o["value"] for o in target["element"]["options"]]
    assert options == [f"{NS}/api"]

    values = {
        "target": {"value": {"type": "static_select", "selected_option": {"value": f"{NS}/api"}}},
        "revision": {"value": {"type": "number_input", "value": None}},
    }
    resp = bed.driver.view_submission(
        ROLLBACK_VIEW, values, user_id=bed.people["alice"], view_id=view.id
    )
    assert resp.status_code == 200
    assert not resp.content or "errors" not in resp.json()
    eph, value = confirm_ephemeral(bed)
    assert eph.channel == inc["channel_id"] and eph.source == "chat.postEphemeral"
    assert "img:v2" in eph.text and "img:v1" in eph.text
    assert "Roll back" in eph.text and len(value) <= 64  # the buttons carry the plan's id
    assert image_of(cluster) == "img:v2"  # nothing changes before Confirm

    bed.driver.block_action(
        "ops_confirm", value=value, user_id=bed.people["alice"], channel_id=inc["channel_id"]
    )
    done = bed.wait_for(lambda: actions(bed) or None, timeout=20)[0]
    assert done["data"]["outcome"] == "succeeded"
    assert image_of(cluster) == "img:v1"


def test_scale_modal_rejects_bad_replicas_inline(
    bed: Testbed, cluster: FakeCluster, with_catalog: Path
) -> None:
    cluster.create_deployment(NS, "api", "img:v1", replicas=3)
    inc = declared(bed)
    press(bed, inc, SCALE)
    view = modal(bed, SCALE_VIEW)
    target = {"value": {"type": "static_select", "selected_option": {"value": f"{NS}/api"}}}
    for raw, needle in (("lots", "whole number"), ("500", "above the limit")):
        resp = bed.driver.view_submission(
            SCALE_VIEW,
            {"target": target, "replicas": {"value": {"type": "number_input", "value": raw}}},
            user_id=bed.people["alice"],
            view_id=view.id,
        )
        body = resp.json()
        assert body["response_action"] == "errors"
        assert needle in body["errors"]["replicas"]
    assert cluster.deployment(NS, "api")["spec"]["replicas"] == 3
    time.sleep(0.3)
    assert not [e for e in bed.emulator.ephemerals() if "ops_confirm" in json.dumps(e.blocks)]


def test_scale_without_catalog_takes_typed_target(bed: Testbed, cluster: FakeCluster) -> None:
    cluster.create_deployment(NS, "api", "img:v1", replicas=3)
    inc = declared(bed)
    press(bed, inc, SCALE)
    view = modal(bed, SCALE_VIEW)
    [target] = [b for b in view.blocks if b.get("block_id") == "target"]
    assert target["element"]["type"] == "plain_text_input"
    assert "No service catalog" in json.dumps(view.blocks)
    resp = bed.driver.view_submission(
        SCALE_VIEW,
        {
            "target": {"value": {"type": "plain_text_input", "value": "api"}},
            "replicas": {"value": {"type": "number_input", "value": "6"}},
        },
        user_id=bed.people["alice"],
        view_id=view.id,
    )
    assert "namespace/deployment" in resp.json()["errors"]["target"]
    bed.driver.view_submission(
        SCALE_VIEW,
        {
            "target": {"value": {"type": "plain_text_input", "value": f"{NS}/api"}},
            "replicas": {"value": {"type": "number_input", "value": "6"}},
        },
        user_id=bed.people["alice"],
        view_id=view.id,
    )
    eph, _ = confirm_ephemeral(bed)
    assert "replicas 3 → 6" in eph.text


def test_no_cluster_says_so(bed: Testbed) -> None:
    assert not bed.services.kube.injected  # and no KUBECONFIG in the testbed's settings
    inc = declared(bed)
    press(bed, inc, ROLLBACK)
    view = modal(bed, NO_CLUSTER_VIEW)
    assert "No Kubernetes cluster is configured" in json.dumps(view.blocks)


def test_rollout_progress_is_edited_in_place(
    bed: Testbed, cluster: FakeCluster, with_catalog: Path
) -> None:
    cluster.create_deployment(NS, "api", "img:v1", replicas=3)
    cluster.rollout_delay = 0.3
    inc = declared(bed)
    channel = inc["channel_id"]
    press(bed, inc, SCALE)
    view = modal(bed, SCALE_VIEW)
    bed.driver.view_submission(
        SCALE_VIEW,
        {
            "target": {
                "value": {"type": "static_select", "selected_option": {"value": f"{NS}/api"}}
            },
            "replicas": {"value": {"type": "number_input", "value": "6"}},
        },
        user_id=bed.people["alice"],
        view_id=view.id,
    )
    _, value = confirm_ephemeral(bed)
    bed.driver.block_action(
        "ops_confirm", value=value, user_id=bed.people["alice"], channel_id=channel
    )
    # The verdict is posted after the outcome is recorded: wait for what the channel sees.
    bed.wait_for(
        lambda: any("succeeded" in m.text for m in bed.emulator.messages(channel)), timeout=20
    )
    assert actions(bed)

    started = [m for m in bed.emulator.messages(channel) if "started:" in m.text]
    assert len(started) == 1  # one progress message, not one per change
    updates = [c for c in bed.emulator.calls("chat.update") if c.args.get("ts") == started[0].ts]
    assert updates, "progress was not edited in place"
    assert {c.args.get("channel") for c in updates} == {channel}
    # it showed the rollout going, and ends with the outcome, never left at ⏳
    assert any("⏳" in h["text"] for h in started[0].history)
    assert started[0].text.splitlines()[-1].startswith(f"✅ {NS}/api:")
    assert not [m for m in bed.emulator.messages(channel) if m.text.startswith("⏳")]
    posted = "\n".join(m.text for m in bed.emulator.messages(channel))
    assert "scale of prod/api succeeded" in posted


def test_run_checks_from_the_card(
    bed: Testbed, cluster: FakeCluster, with_catalog: Path, ops_buttons: None
) -> None:
    cluster.create_deployment(NS, "api", "img:v1", replicas=2)
    cluster.image_behaviour["img:bad"] = "CrashLoopBackOff"
    set_image(cluster, "img:bad")
    inc = declared(bed)
    [row] = [b for b in card(bed, inc).blocks if b["type"] == "actions"]
    assert CHECKS in [e["action_id"] for e in row["elements"]]
    press(bed, inc, CHECKS)
    [event] = bed.wait_for(lambda: actions(bed, "check") or None, timeout=20)
    results = {r["check"]: r for r in event["data"]["results"]}
    assert results["http"]["status"] == "ok"
    assert results["kubernetes"]["status"] != "ok"
    assert "CrashLoopBackOff" in results["kubernetes"]["reason"]
    posted = bed.wait_for(
        lambda: [
            m.text for m in bed.emulator.messages(inc["channel_id"]) if "Status checks" in m.text
        ]
    )
    assert len(posted) == 1 and "CrashLoopBackOff" in posted[0]
