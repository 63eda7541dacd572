"""Operations messages tell the truth: what the channel and the presser read at the end is
what happened in the cluster (issue 13), never a "started"/"Working on" left as if running."""

from __future__ import annotations

from pathlib import Path

import pytest
from warroom_sandbox.fake_cluster import FakeCluster
from warroom_sandbox.testbed import Testbed

from bot.adapters.catalog.store import CatalogStore
from tests.e2e.test_operations import (  # noqa: F401 (cluster is a fixture)
    NS,
    actions,
    cluster,
    confirm_value,
    declare,
    image_of,
    set_image,
)


@pytest.fixture
def fake(cluster: FakeCluster) -> FakeCluster:  # noqa: F811 (the fixture imported above)
    return cluster


def channel_texts(bed: Testbed, channel: str) -> list[str]:
    return [m.text for m in bed.emulator.messages(channel)]


def started(bed: Testbed, channel: str) -> str | None:
    found = [t for t in channel_texts(bed, channel) if "started:" in t]
    return found[-1] if found else None


def press_rollback(bed: Testbed, fake: FakeCluster) -> tuple[str, str]:
    fake.create_deployment(NS, "api", "img:v1")
    set_image(fake, "img:v2")
    inc = declare(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]
    bed.driver.command(f"rollback api -n {NS}", user_id=alice, channel_id=channel)
    return confirm_value(bed), channel


@pytest.mark.parametrize("status", [403, 500])
def test_api_failure_after_confirm_edits_started_and_working_to_failed(
    bed: Testbed, fake: FakeCluster, status: int
) -> None:
    value, channel = press_rollback(bed, fake)
    fake.inject_fault("PATCH", "*/deployments/api", status, count=None)
    bed.driver.block_action(
        "ops_confirm", value=value, user_id=bed.people["alice"], channel_id=channel
    )
    row = bed.wait_for(lambda: actions(bed) or None, timeout=20)[0]
    assert row["data"]["outcome"] == "failed" and row["data"]["failed_reason"]
    assert image_of(fake) == "img:v2"
    # the channel's "started" message now says it failed
    head = bed.wait_for(lambda: (t := started(bed, channel)) and "❌" in t and t, timeout=10)
    assert f"❌ rollback of {NS}/api failed:" in head
    assert "⏳" not in head
    # the presser's "Working on…" was replaced by the failure, not left beside it
    last = bed.wait_for(
        lambda: (r := bed.emulator.responses()) and "failed" in r[-1].text and r[-1].body
    )
    assert last["text"].startswith(f"❌ rollback of {NS}/api failed:")
    assert last.get("replace_original") in (True, "true")
    assert "refused to plan" not in last["text"]


def test_successful_rollout_progress_ends_with_a_tick(bed: Testbed, fake: FakeCluster) -> None:
    value, channel = press_rollback(bed, fake)
    bed.driver.block_action(
        "ops_confirm", value=value, user_id=bed.people["alice"], channel_id=channel
    )
    bed.wait_for(lambda: any("succeeded" in t for t in channel_texts(bed, channel)), timeout=20)
    head = bed.wait_for(lambda: (t := started(bed, channel)) and "✅" in t and t, timeout=10)
    assert head.splitlines()[-1].startswith(f"✅ {NS}/api:")
    # the answer to the press follows the verdict in the channel: wait for it
    last = bed.wait_for(lambda: (r := bed.emulator.responses()[-1]).text.startswith("✅") and r)
    assert last.body.get("replace_original") in (True, "true")


def test_cancel_after_the_change_ran_says_it_was_confirmed(bed: Testbed, fake: FakeCluster) -> None:
    value, channel = press_rollback(bed, fake)
    alice = bed.people["alice"]
    bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
    bed.wait_for(lambda: any("succeeded" in t for t in channel_texts(bed, channel)), timeout=20)
    bed.wait_for(lambda: bed.emulator.responses()[-1].text.startswith("✅"))

    bed.driver.block_action(
        "ops_cancel", value=value, user_id=bed.people["bob"], channel_id=channel
    )
    answer = bed.wait_for(
        lambda: (t := bed.emulator.responses()[-1].text) and "cancel" in t.lower() and t
    )
    assert f"already confirmed by <@{alice}>" in answer
    assert "use Rollback to undo" in answer
    assert "no rollback was made" not in answer
    assert image_of(fake) == "img:v1"


def test_cancel_before_confirm_says_nothing_was_made(bed: Testbed, fake: FakeCluster) -> None:
    value, channel = press_rollback(bed, fake)
    bed.driver.block_action(
        "ops_cancel", value=value, user_id=bed.people["alice"], channel_id=channel
    )
    answer = bed.wait_for(
        lambda: (t := bed.emulator.responses()[-1].text).startswith("Cancel") and t
    )
    assert answer == f"Cancelled: no rollback of {NS}/api was made."
    assert image_of(fake) == "img:v2"


def test_lock_held_by_the_presser_says_started_by_you(bed: Testbed, fake: FakeCluster) -> None:
    value, channel = press_rollback(bed, fake)
    fake.rollout_delay = 1.0  # the first press holds the deploy lock while it rolls out
    alice = bed.people["alice"]
    bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
    bed.wait_for(lambda: started(bed, channel), timeout=10)
    bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
    answer = bed.wait_for(
        lambda: next((r.text for r in bed.emulator.responses() if "in progress" in r.text), None)
    )
    assert answer == (
        f"⏳ rollback of {NS}/api already in progress, started by you (<@{alice}>); "
        "nothing was done."
    )
    bed.wait_for(lambda: any("succeeded" in t for t in channel_texts(bed, channel)), timeout=30)


def test_rollback_speaks_as_kubectl_does(bed: Testbed, fake: FakeCluster) -> None:
    value, channel = press_rollback(bed, fake)
    plan = bed.emulator.responses()[-1].text
    assert plan == (
        f"*Roll back* `{NS}/api` to the template of revision 1 "
        "(`app=img:v2` → `app=img:v1`); it becomes revision 3"
    )
    bed.driver.block_action(
        "ops_confirm", value=value, user_id=bed.people["alice"], channel_id=channel
    )
    verdict = bed.wait_for(
        lambda: next((t for t in channel_texts(bed, channel) if "succeeded" in t), None),
        timeout=20,
    )
    assert verdict.startswith(f"✅ rollback of {NS}/api succeeded (`app=img:v2` → `app=img:v1`):")
    meta = fake.deployment(NS, "api")["metadata"]
    assert meta["annotations"]["deployment.kubernetes.io/revision"] == "3"  # as the plan said
    row = actions(bed)[-1]
    assert row["text"] == f"rollback of {NS}/api (app=img:v2 → app=img:v1): succeeded"


def test_one_name_for_the_target_in_plan_progress_verdict_and_timeline(
    bed: Testbed, fake: FakeCluster, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(
        "clusters:\n  - name: eu\n"
        "services:\n"
        f"  - name: checkout\n    health_url: {bed.url}/healthz\n"
        f"    kubernetes: {{context: eu, namespace: {NS}, deployment: api}}\n"
    )
    bed.services.catalog = CatalogStore.load(catalog)
    fake.create_deployment(NS, "api", "img:v1")
    set_image(fake, "img:v2")
    fake.rollout_delay = 0.2  # a few progress edits
    inc = declare(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]
    bed.driver.command("rollback checkout", user_id=alice, channel_id=channel)
    value = confirm_value(bed)
    name = f"eu:{NS}/api"
    assert f"`{name}`" in bed.emulator.responses()[-1].text
    bed.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
    verdict = bed.wait_for(
        lambda: next((t for t in channel_texts(bed, channel) if "succeeded" in t), None),
        timeout=20,
    )
    assert verdict.startswith(f"✅ rollback of {name} succeeded")
    board = next(m for m in bed.emulator.messages(channel) if "started:" in m.text)
    shown = [h["text"] for h in board.history] + [board.text]
    lines = [ln for t in shown for ln in t.splitlines()[1:] if ln]  # below the plan
    assert lines and all(ln.split(" ", 1)[1].startswith(f"{name}:") for ln in lines), lines
    assert any(ln.startswith("⏳") for ln in lines) and lines[-1].startswith("✅")
    assert f"`{name}`" in board.text
    row = actions(bed)[-1]
    assert row["data"]["target"] == name
    assert row["text"].startswith(f"rollback of {name} (")
