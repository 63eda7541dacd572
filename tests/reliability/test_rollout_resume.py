"""A replica stopped while it follows a rollout: another replica finishes the follow, posts
the verdict once and records the outcome once."""

from __future__ import annotations

from typing import Any

from warroom_sandbox.slack_driver import SlackDriver
from warroom_sandbox.testbed import SIGNING_SECRET

from tests.e2e.test_declare import setup_finished
from tests.reliability.slack_steps import confirm_value, seed_rollback_target
from tests.reliability.tally import Tally
from tests.reliability.world import NS, World, free_port

SHORT_GRACE = {"WARROOM_SHUTDOWN_GRACE_S": "1"}


def _image(world: World, name: str) -> str:
    spec = world.cluster.deployment(NS, name)["spec"]["template"]["spec"]
    return spec["containers"][0]["image"]


def _finals(world: World, request_id: str) -> list[dict[str, Any]]:
    return [
        row
        for row in world.bed.rows("SELECT * FROM timeline_events WHERE kind = 'action'")
        if row["data"].get("request_id") == request_id
    ]


def scenario_rollout_follow_resumed(world: World, trials: int) -> Tally:
    """Per trial: a third `warroom serve` (1 s grace) applies a rollback and is sent SIGTERM
    while the rollout is still going; one of the two others must finish the follow."""
    tally = Tally("rollout follow resumed after SIGTERM", trials=trials)
    alice = world.people["alice"]
    saved_delay = world.cluster.rollout_delay
    world.cluster.rollout_delay = 1.5  # a three-pod rollout takes several seconds
    try:
        for i in range(trials):
            name = f"resume-{free_port()}"
            seed_rollback_target(world, name, replicas=3)
            world.bed.wait_for(lambda n=name: _image(world, n) == "img:v2", timeout=10)

            doomed = world.bed.spawn_replica(
                free_port(),
                {**world.env, **SHORT_GRACE},
                log_file=world.log_files[0].with_name(f"doomed-{i}.log"),
            )
            driver = SlackDriver(
                doomed.url + "/slack/events", SIGNING_SECRET, emulator=world.emulator
            )
            try:
                number = len(world.bed.rows("SELECT number FROM incidents")) + 1
                world.drivers[1].command(
                    f"declare SEV2 resume trial {i}", user_id=alice, channel_id="C0GEN"
                )
                inc = world.bed.wait_for(lambda n=number: setup_finished(world.bed, n), timeout=20)
                channel = inc["channel_id"]
                seen = len(world.emulator.responses())
                driver.command(f"rollback {name} -n {NS}", user_id=alice, channel_id=channel)
                value = world.bed.wait_for(lambda s=seen: confirm_value(world, None, s), timeout=20)
                driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
                follow = world.bed.wait_for(
                    lambda n=inc["number"]: world.bed.rows(
                        "SELECT request_id FROM rollout_follows WHERE incident_number = :n", n=n
                    ),
                    timeout=20,
                )
                request_id = follow[0]["request_id"]
                stopped_mid_rollout = _image(world, name) == "img:v1" and not _finals(
                    world, request_id
                )
            finally:
                doomed.stop()  # SIGTERM, waits for the process to exit
                driver.close()
            if not stopped_mid_rollout:
                tally.fail(f"trial {i}: the rollout finished before SIGTERM; nothing to resume")
                continue
            try:
                finals = world.bed.wait_for(
                    lambda r=request_id: [
                        f for f in _finals(world, r) if f["data"].get("outcome") != "refused"
                    ],
                    timeout=45,
                )
            except AssertionError:
                tally.lost += 1
                tally.fail(f"trial {i}: nobody finished following {name}")
                continue
            [follow] = world.bed.rows(
                "SELECT * FROM rollout_follows WHERE request_id = :r", r=request_id
            )
            verdicts = [
                m.text
                for m in world.emulator.messages(channel)
                if f"rollback of {NS}/{name} succeeded" in m.text
            ]
            if len(finals) != 1 or len(verdicts) > 1:
                tally.duplicates += max(len(finals) - 1, 0) + max(len(verdicts) - 1, 0)
            if finals[0]["data"]["outcome"] != "succeeded" or _image(world, name) != "img:v1":
                tally.fail(f"trial {i}: outcome {finals[0]['data']}")
            if follow["finished_at"] is None or follow["resumed"] < 1:
                tally.fail(f"trial {i}: follow row {follow}")
            if len(verdicts) != 1:
                tally.fail(f"trial {i}: {len(verdicts)} verdict messages")
    finally:
        world.cluster.rollout_delay = saved_delay
    return tally


def test_a_stopped_replicas_rollout_is_finished_by_another(w: World) -> None:
    tally = scenario_rollout_follow_resumed(w, 1)
    assert tally.trials == 1
    assert tally.clean, tally.summary()
