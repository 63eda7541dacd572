"""Concurrent actions (issue 7): 20 simultaneous rollback confirmations for one Deployment
across both replicas make exactly one rollout; every other presser is told who holds the lock
(or, arriving after it was released, that the rollback is already done).

``scenario_rollback_storm(world, trials) -> OpsTally`` runs on its own (no pytest inside) so
`bench/reliability_report.py` can run it at larger counts.
"""

from __future__ import annotations

import asyncio

from tests.reliability.slack_steps import (
    V1,
    OpsTally,
    Snapshot,
    action_recorded,
    check_actions,
    check_press_answers,
    confirm_value,
    deliver,
    deliver_together,
    expect_one,
    final_answers,
    lost,
    prepare_click,
    prepare_declare,
    prepare_rollback_command,
    ready_incident,
    remove_deployment,
    revision_and_image,
    rollback_messages,
    rolled_out,
    run,
    seed_rollback_target,
    template_patches,
    token,
    wait_until,
)
from tests.reliability.world import World

PRESSES = 20
PLANS_EACH = 2  # planned ephemerals per authorised person (the reporter and the commander)
SETUP_TIMEOUT_S = 20.0
ROLLBACK_TIMEOUT_S = 30.0
ANSWER_TIMEOUT_S = 15.0


async def _incident_with_two_operators(world: World, tally: OpsTally) -> dict | None:
    """An incident reported by alice and commanded by bob: both may confirm operations."""
    alice, bob = world.people["alice"], world.people["bob"]
    title = f"{token('cops')} concurrent rollbacks"
    prepared, _ = prepare_declare(world, title, alice)
    await deliver(world, prepared, 0, tally, what="declare")
    inc = await wait_until(lambda: ready_incident(world, title), SETUP_TIMEOUT_S)
    if inc is None:
        tally.fail("the incident was not set up")
        return None
    handover = world.drivers[1].prepare_command(f"ic <@{bob}>", alice, inc["channel_id"])
    await deliver(world, handover, 1, tally, what="ic")
    inc = await wait_until(
        lambda: (i := ready_incident(world, title)) and i["commander_id"] == bob and i,
        SETUP_TIMEOUT_S,
    )
    if inc is None:
        tally.fail("bob did not become the commander")
    return inc


def scenario_rollback_storm(world: World, trials: int) -> OpsTally:
    """Each trial: a fresh Deployment at revision 2; alice (reporter) and bob (commander)
    each plan `/incident rollback` twice; then 20 Confirm presses, 5 per planned ephemeral,
    alternating between the replicas, all sent at once (20 distinct clicks, each with its
    own action_ts and response_url). Exactly one PATCH, revision 3 with `img:v1`, one
    `action` event that reached the cluster, one "started" and one verdict message; the
    winner is told it succeeded, each of the 19 others once that it is in progress, naming
    who holds the lock (the winner, or a late press that took the lock after the rollout
    only to find it done, which it audits as a refusal), or that it was already done."""
    tally = OpsTally(f"{PRESSES} simultaneous rollback confirmations")
    alice, bob = world.people["alice"], world.people["bob"]

    async def main() -> None:
        inc = await _incident_with_two_operators(world, tally)
        if inc is None:
            return
        channel = inc["channel_id"]
        taken: set[str] = set()
        for i in range(trials):
            name = token("cops")
            label = f"trial {i} ({name})"
            tally.trials += 1
            seed_rollback_target(world, name)
            if not await wait_until(lambda n=name: rolled_out(world, n), ROLLBACK_TIMEOUT_S):
                tally.fail(f"{label}: the seeded Deployment never rolled out")
            patches = template_patches(world, name)

            # several planned ephemerals for the same rollback, from both operators
            plans = []
            for k in range(2 * PLANS_EACH):
                who = (alice, bob)[k % 2]
                prepared, url = prepare_rollback_command(world, name, who, channel)
                plans.append((prepared, url, who))
            await deliver_together(
                world, [(p, k % 2, None) for k, (p, _, _) in enumerate(plans)], tally, label
            )
            values = []
            for _, url, who in plans:
                value = await wait_until(lambda u=url: confirm_value(world, u), SETUP_TIMEOUT_S)
                if value is None:
                    lost(tally, f"{label}: a rollback plan never came")
                else:
                    values.append((value, who))
            if not values:
                continue

            presses = []
            for j in range(PRESSES):
                value, who = values[(j // 2) % len(values)]
                prepared, url = prepare_click(
                    world, "ops_confirm", value, who, channel, taken=taken
                )
                presses.append((prepared, url, j % 2))
            await deliver_together(
                world, [(p, r, None) for p, _, r in presses], tally, f"{label}: press"
            )
            urls = [u for _, u, _ in presses]
            if not await wait_until(lambda: action_recorded(world, name), ROLLBACK_TIMEOUT_S):
                lost(tally, f"{label}: no rollback recorded")
            # every press's answer comes after its own work: once all are in, all is done
            await wait_until(
                lambda: all(final_answers(world.emulator.responses(u)) for u in urls),
                ANSWER_TIMEOUT_S,
            )
            snap = await asyncio.to_thread(Snapshot.take, world)

            expect_one(tally, template_patches(world, name) - patches, f"{label}: PATCH")
            rev, image = revision_and_image(world, name)
            if (rev, image) != ("3", V1):
                tally.fail(f"{label}: {name} ended at revision {rev} with {image}")
            events = action_recorded(world, name)
            ran, holders = check_actions(tally, events, label)
            if not holders <= {alice, bob}:
                tally.fail(f"{label}: the lock was held by {holders}")
            denied = [e for e in snap.events if e["kind"] == "denied"]
            if denied:
                tally.fail(f"{label}: {len(denied)} presses were refused")
            check_press_answers(
                tally,
                snap,
                urls,
                label,
                ran["actor"] if ran else None,
                # A late press may take the lock only to find the rollout done (and record
                # nothing): "in progress, started by" may name either presser, never another.
                {alice, bob},
                refusals=len(events) - (1 if ran else 0),
            )
            started, verdicts = rollback_messages(snap, channel, name)
            expect_one(tally, started, f"{label}: 'started' message")
            expect_one(tally, verdicts, f"{label}: verdict message")
            remove_deployment(world, name)

    run(world, main)
    return tally


# -- tests --------------------------------------------------------------------------------


def test_twenty_simultaneous_confirms_roll_out_once(w: World) -> None:
    trials = 10
    tally = scenario_rollback_storm(w, trials)
    assert tally.clean, tally.summary()
    assert tally.trials == trials
    # per trial: declare-side requests aside, 4 plans and 20 presses all answered
    assert len(tally.ack_ms) >= trials * (2 * PLANS_EACH + PRESSES), len(tally.ack_ms)
    # 19 others per trial were told something, and the lock holder was named to some
    assert sum(tally.told.values()) == trials * (PRESSES - 1), tally.told
    assert tally.told.get("in_progress", 0) >= trials, tally.told
    # this scenario's Deployments only: a follow from an earlier test may still land
    succeeded = w.bed.rows(
        "SELECT actor FROM timeline_events WHERE kind = 'action'"
        " AND data->>'outcome' = 'succeeded' AND data->>'target' LIKE :t",
        t="prod/cops%",
    )
    assert len(succeeded) == trials
    assert {r["actor"] for r in succeeded} <= {w.people["alice"], w.people["bob"]}
