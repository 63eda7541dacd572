"""Duplicates (issue 7): Slack's retried deliveries (`X-Slack-Retry-Num` 1-3), double clicks
and the same request sent to both replicas at once must each have their effect exactly once:
one incident, one channel, one card, one pin, one acknowledgement, one rollback.

Each ``scenario_*(world, trials) -> Tally`` runs on its own (no pytest inside) so
`bench/reliability_report.py` can run it at larger counts; the tests below run them at CI size
(200 duplicate trials in all) and assert the tally is clean.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from tests.reliability.slack_steps import (
    V1,
    V2,
    OpsTally,
    Snapshot,
    action_recorded,
    all_answered,
    check_actions,
    check_declared,
    check_press_answers,
    deliver,
    deliver_together,
    duplicated,
    expect_one,
    final_answers,
    lost,
    plan_rollback,
    prepare_click,
    prepare_declare,
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
from tests.reliability.tally import Tally
from tests.reliability.world import World

SETUP_TIMEOUT_S = 20.0
ROLLBACK_TIMEOUT_S = 30.0
SETTLE_S = 1.0  # time for a late duplicate to show before counting
ROLLBACK_WAVE = 5  # rollback trials run side by side (each on its own Deployment)


@dataclass
class DeclareTrial:
    title: str
    word: str
    url: str
    label: str


def _people(world: World) -> list[str]:
    return [world.people[n] for n in ("alice", "bob", "carol")]


async def _account_declarations(world: World, tally: Tally, trials: list[DeclareTrial]) -> None:
    await asyncio.sleep(SETTLE_S)
    snap = await asyncio.to_thread(Snapshot.take, world)
    for t in trials:
        check_declared(snap, tally, title=t.title, word=t.word, response_url=t.url, label=t.label)


# -- (a) Slack's retries ------------------------------------------------------------------


def scenario_declare_retried(world: World, trials: int) -> Tally:
    """A declare followed by 1-3 redeliveries with X-Slack-Retry-Num 1..n, each to the same
    or the other replica, arriving while the first is in flight, right after its ack, or
    once the incident is fully set up."""
    tally = Tally("declare retried (X-Slack-Retry-Num 1-3)")
    rng = random.Random(7001)
    people = _people(world)

    async def main() -> None:
        done: list[DeclareTrial] = []
        for i in range(trials):
            word = token("dupa")
            title = f"{word} retried declare {i}"
            prepared, url = prepare_declare(world, title, people[i % len(people)])
            first = i % 2
            retries = [
                (n, first if rng.random() < 0.5 else 1 - first)
                for n in range(1, rng.randint(1, 3) + 1)
            ]
            when = ("in flight", "after the ack", "after set-up")[i % 3]
            label = f"trial {i} (retries {retries}, {when})"
            tally.trials += 1
            first_send = deliver(world, prepared, first, tally, what=f"{label}: first delivery")
            if when == "in flight":

                async def late(n: int, replica: int, delay: float) -> None:
                    await asyncio.sleep(delay)
                    await deliver(world, prepared, replica, tally, retry_num=n, what=label)

                await asyncio.gather(
                    first_send,
                    *(late(n, r, 0.005 * k) for k, (n, r) in enumerate(retries)),
                )
            else:
                await first_send
                if when == "after set-up":
                    if not await wait_until(lambda: ready_incident(world, title), SETUP_TIMEOUT_S):
                        lost(tally, f"{label}: set-up never finished")
                for n, r in retries:
                    await deliver(world, prepared, r, tally, retry_num=n, what=label)
            # pace the trials (the accounting at the end says what is missing)
            await wait_until(lambda: ready_incident(world, title), SETUP_TIMEOUT_S)
            done.append(DeclareTrial(title, word, url, label))
        await _account_declarations(world, tally, done)

    run(world, main)
    return tally


# -- (b) the same request to both replicas at once -----------------------------------------


def scenario_declare_both_replicas(world: World, trials: int) -> Tally:
    """The very same signed declare delivered to both replicas at the same moment (a load
    balancer or proxy duplicating it); every third trial a Slack retry joins the race."""
    tally = Tally("declare sent to both replicas at once")
    people = _people(world)

    async def main() -> None:
        done: list[DeclareTrial] = []
        for i in range(trials):
            word = token("dupb")
            title = f"{word} both replicas {i}"
            prepared, url = prepare_declare(world, title, people[i % len(people)])
            order = [0, 1] if i % 2 == 0 else [1, 0]
            sends: list[tuple] = [(prepared, r, None) for r in order]
            if i % 3 == 2:
                sends.append((prepared, i % 2, 1))
            label = f"trial {i} ({len(sends)} copies)"
            tally.trials += 1
            await deliver_together(world, sends, tally, what=label)
            await wait_until(lambda: ready_incident(world, title), SETUP_TIMEOUT_S)
            done.append(DeclareTrial(title, word, url, label))
        await _account_declarations(world, tally, done)

    run(world, main)
    return tally


# -- (c) double clicks on the card ---------------------------------------------------------

ACK_VARIANTS = (
    "double click, same replica",
    "double click, one per replica, at once",
    "one click to both replicas at once, then a Slack retry",
    "two people at once, one per replica",
)


# what the second of two distinct clicks may be told
TOLD_ACKED = ("Nothing to change", "Already done")


def scenario_ack_double_click(world: World, trials: int) -> Tally:
    """Acknowledge on the pinned card pressed twice (two clicks, or one click delivered
    several times): one `acknowledged` event, one card edit, one channel message; the second
    distinct click is told there is nothing to change, a redelivery is silent."""
    tally = Tally("card Acknowledge double click")
    alice, bob = world.people["alice"], world.people["bob"]

    async def main() -> None:
        # one incident per trial, declared back to back and set up side by side
        titles = []
        for i in range(trials):
            word = token("dupc")
            titles.append(f"{word} ack double click {i}")
            prepared, _ = prepare_declare(world, titles[-1], alice)
            await deliver(world, prepared, i % 2, tally, what=f"trial {i}: declare")
        incidents = []
        for i, title in enumerate(titles):
            inc = await wait_until(lambda t=title: ready_incident(world, t), SETUP_TIMEOUT_S)
            if inc is None:
                tally.fail(f"trial {i}: its incident was not set up; not pressed")
            incidents.append(inc)

        clicks: list[tuple[int, dict, list[str], bool]] = []  # (trial, inc, urls, distinct)
        taken: set[str] = set()
        for i, inc in enumerate(incidents):
            if inc is None:
                continue
            tally.trials += 1
            variant = i % len(ACK_VARIANTS)
            label = f"trial {i} ({ACK_VARIANTS[variant]})"

            def click(user: str, inc: dict = inc) -> tuple:
                return prepare_click(
                    world,
                    "incident_ack",
                    str(inc["number"]),
                    user,
                    inc["channel_id"],
                    message_ts=inc["card_ts"],
                    taken=taken,
                )

            if variant == 0:
                (p1, u1), (p2, u2) = click(alice), click(alice)
                await deliver(world, p1, i % 2, tally, what=label)
                await deliver(world, p2, i % 2, tally, what=label)
                clicks.append((i, inc, [u1, u2], True))
            elif variant == 1:
                (p1, u1), (p2, u2) = click(alice), click(alice)
                await deliver_together(world, [(p1, 0, None), (p2, 1, None)], tally, label)
                clicks.append((i, inc, [u1, u2], True))
            elif variant == 2:
                p1, u1 = click(alice)
                await deliver_together(world, [(p1, 0, None), (p1, 1, None)], tally, label)
                await deliver(world, p1, i % 2, tally, retry_num=1, what=label)
                clicks.append((i, inc, [u1], False))
            else:
                (p1, u1), (p2, u2) = click(alice), click(bob)
                await deliver_together(
                    world, [(p1, i % 2, None), (p2, 1 - i % 2, None)], tally, label
                )
                clicks.append((i, inc, [u1, u2], True))

        for i, inc, _, _ in clicks:
            acked = await wait_until(
                lambda n=inc["number"]: world.bed.rows(
                    "SELECT 1 FROM incidents WHERE number = :n AND acknowledged_at IS NOT NULL",
                    n=n,
                ),
                SETUP_TIMEOUT_S,
            )
            if not acked:
                lost(tally, f"trial {i}: incident #{inc['number']} never acknowledged")
        # the losing click's answer: wait for it before counting
        await wait_until(
            lambda: all_answered(world, [urls for _, _, urls, distinct in clicks if distinct]),
            10,
        )
        await asyncio.sleep(SETTLE_S)
        snap = await asyncio.to_thread(Snapshot.take, world)
        for i, inc, urls, distinct in clicks:
            label = f"trial {i} ({ACK_VARIANTS[i % len(ACK_VARIANTS)]})"
            n = inc["number"]
            expect_one(tally, len(snap.events_of(n, "acknowledged")), f"{label}: ack event")
            edits = [
                c
                for c in snap.calls
                if c.method == "chat.update" and c.args.get("ts") == inc["card_ts"]
            ]
            expect_one(tally, len(edits), f"{label}: card edit")
            ch = snap.channel(inc["channel_id"])
            said = [m for m in (ch.messages if ch else []) if "acknowledged incident" in m.text]
            expect_one(tally, len(said), f"{label}: 'acknowledged' message")
            answers = [r for u in urls for r in snap.answers(u)]
            if distinct:
                # the losing click is told; the winner's work shows in the channel
                nothing = [r for r in answers if any(t in r.text for t in TOLD_ACKED)]
                expect_one(tally, len(nothing), f"{label}: 'nothing to change' to the 2nd click")
                duplicated(tally, len(answers) - len(nothing), f"{label}: answers {answers!r}")
            else:
                duplicated(tally, len(answers), f"{label}: a redelivery was answered {answers!r}")

    run(world, main)
    return tally


# -- (d) Confirm of a rollback pressed twice ----------------------------------------------

ROLLBACK_VARIANTS = (
    "double click, same replica",
    "one click to both replicas at once",
    "one click, then Slack retries 1-3 to either replica",
    "double click, one per replica, at once",
)


def scenario_rollback_confirm_twice(world: World, trials: int) -> OpsTally:
    """`/incident rollback <deployment> -n prod`, then its Confirm pressed twice or delivered
    twice or more: one PATCH of the Deployment's template, one rollout (the revision moves
    by exactly one), one `action` event, one "started" and one verdict message; a second
    click is told the rollback is in progress (by whom) or already done.

    Trials run ROLLBACK_WAVE at a time, each wave on the same few Deployments, which flip
    between `img:v2` and `img:v1` one rollback after another."""
    tally = OpsTally("rollback Confirm twice")
    alice = world.people["alice"]
    pool = [token("dupd") for _ in range(min(ROLLBACK_WAVE, trials))]

    async def main() -> None:
        title = f"{token('dupd')} rollbacks"
        prepared, _ = prepare_declare(world, title, alice)
        await deliver(world, prepared, 0, tally, what="declare")
        inc = await wait_until(lambda: ready_incident(world, title), SETUP_TIMEOUT_S)
        if inc is None:
            tally.fail("the incident for the rollbacks was not set up")
            return
        channel = inc["channel_id"]
        for name in pool:
            seed_rollback_target(world, name)
        for name in pool:
            if not await wait_until(lambda n=name: rolled_out(world, n), ROLLBACK_TIMEOUT_S):
                tally.fail(f"{name}: the seeded Deployment never rolled out")
        start = {
            name: (template_patches(world, name), int(revision_and_image(world, name)[0]))
            for name in pool
        }
        runs = dict.fromkeys(pool, 0)  # trials run per Deployment
        seen = dict.fromkeys(pool, 0)  # duplicate PATCHes the trials already counted
        taken: set[str] = set()

        async def trial(i: int, name: str) -> None:
            variant = i % len(ROLLBACK_VARIANTS)
            label = f"trial {i} ({ROLLBACK_VARIANTS[variant]}, {name})"
            tally.trials += 1
            runs[name] += 1
            await wait_until(lambda: rolled_out(world, name), ROLLBACK_TIMEOUT_S)
            patches = template_patches(world, name)
            rev, image = revision_and_image(world, name)
            events = len(action_recorded(world, name))
            value = await plan_rollback(world, name, alice, channel, i % 2, tally, label)
            if value is None:
                return

            def click() -> tuple:
                return prepare_click(world, "ops_confirm", value, alice, channel, taken=taken)

            if variant == 0:
                (p1, u1), (p2, u2) = click(), click()
                await deliver(world, p1, i % 2, tally, what=label)
                await deliver(world, p2, i % 2, tally, what=label)
                urls = [u1, u2]
            elif variant == 1:
                p1, u1 = click()
                await deliver_together(world, [(p1, 0, None), (p1, 1, None)], tally, label)
                urls = [u1]
            elif variant == 2:
                p1, u1 = click()
                await deliver(world, p1, i % 2, tally, what=label)
                await deliver(world, p1, 1 - i % 2, tally, retry_num=1, what=label)
                urls = [u1]
            else:
                (p1, u1), (p2, u2) = click(), click()
                await deliver_together(world, [(p1, 0, None), (p2, 1, None)], tally, label)
                urls = [u1, u2]
            recorded = await wait_until(
                lambda: len(action_recorded(world, name)) > events, ROLLBACK_TIMEOUT_S
            )
            if not recorded:
                lost(tally, f"{label}: no rollback recorded")
            if variant == 2:  # Slack's later retries, once the first was handled
                for n in (2, 3):
                    await deliver(world, p1, n % 2, tally, retry_num=n, what=label)
            await wait_until(
                lambda: all(final_answers(world.emulator.responses(u)) for u in urls), 10
            )
            snap = await asyncio.to_thread(Snapshot.take, world)
            made = template_patches(world, name) - patches
            expect_one(tally, made, f"{label}: PATCH of the template")
            seen[name] += max(0, made - 1)
            now_rev, now_image = revision_and_image(world, name)
            flipped = V1 if image == V2 else V2
            if made and (now_rev, now_image) != (str(int(rev) + 1), flipped):
                tally.fail(f"{label}: revision {rev} {image} → {now_rev} {now_image}")
            new = action_recorded(world, name)[events:]
            ran, holders = check_actions(tally, new, label)
            check_press_answers(
                tally,
                snap,
                urls,
                label,
                ran["actor"] if ran else None,
                holders,
                refusals=len(new) - (1 if ran else 0),
            )

        for first in range(0, trials, len(pool)):
            wave = range(first, min(trials, first + len(pool)))
            await asyncio.gather(*(trial(i, pool[i % len(pool)]) for i in wave))

        # late duplicates: the totals per Deployment, once everything settled
        await asyncio.sleep(SETTLE_S)
        snap = await asyncio.to_thread(Snapshot.take, world)
        for name in pool:
            n = runs[name]
            label = f"{name} after {n} rollbacks"
            late = template_patches(world, name) - start[name][0] - n - seen[name]
            duplicated(tally, late, f"{label}: late PATCHes")
            rev = int(revision_and_image(world, name)[0])
            if rev != start[name][1] + n:
                tally.fail(f"{label}: revision {rev}, expected {start[name][1] + n}")
            ran = [
                e
                for e in action_recorded(world, name)
                if (e["data"] or {}).get("outcome") != "refused"
            ]
            duplicated(tally, len(ran) - n, f"{label}: action events that reached the cluster")
            started, verdicts = rollback_messages(snap, channel, name)
            duplicated(tally, started - n, f"{label}: 'started' messages")
            duplicated(tally, verdicts - n, f"{label}: verdict messages")
            if started < n or verdicts < n:
                lost(tally, f"{label}: {started} 'started', {verdicts} verdict messages")
            remove_deployment(world, name)

    run(world, main)
    return tally


# -- tests --------------------------------------------------------------------------------


def _assert_clean(tally: Tally, trials: int, min_deliveries: int) -> None:
    assert tally.clean, tally.summary()
    assert tally.trials == trials, tally.summary()
    # every trial delivered its request at least twice, and each delivery was answered
    assert len(tally.ack_ms) >= min_deliveries, (len(tally.ack_ms), tally.summary())


def test_declare_retried_with_retry_num(w: World) -> None:
    trials = 50
    tally = scenario_declare_retried(w, trials)
    _assert_clean(tally, trials, 2 * trials)
    assert len(w.bed.rows("SELECT 1 FROM incidents")) == trials
    assert len(w.emulator.calls("pins.add")) == trials


def test_declare_sent_to_both_replicas_at_once(w: World) -> None:
    trials = 50
    tally = scenario_declare_both_replicas(w, trials)
    _assert_clean(tally, trials, 2 * trials)
    assert len(w.bed.rows("SELECT 1 FROM incidents")) == trials
    assert len(w.emulator.channels()) >= trials


def test_acknowledge_double_click(w: World) -> None:
    trials = 50
    tally = scenario_ack_double_click(w, trials)
    _assert_clean(tally, trials, 3 * trials)  # a declare and two or more presses each
    acked = w.bed.rows("SELECT 1 FROM incidents WHERE acknowledged_at IS NOT NULL")
    assert len(acked) == trials


def test_rollback_confirm_twice(w: World) -> None:
    trials = 50
    tally = scenario_rollback_confirm_twice(w, trials)
    _assert_clean(tally, trials, 3 * trials)  # the command and two or more confirms each
    succeeded = w.bed.rows(
        "SELECT 1 FROM timeline_events WHERE kind = 'action' AND data->>'outcome' = 'succeeded'"
    )
    assert len(succeeded) == trials
    # the double clicks' second presses were each told something, mostly "in progress"
    second_clicks = sum(1 for i in range(trials) if i % len(ROLLBACK_VARIANTS) in (0, 3))
    assert sum(tally.told.values()) == second_clicks, tally.told
    assert tally.told.get("in_progress", 0) > 0, tally.told


def test_the_accounting_sees_a_real_duplicate(w: World) -> None:
    """The checks above can fail: two people declaring the same title are two distinct
    requests, hence two incidents, which `check_declared` must count as a duplicate."""
    tally = Tally("negative control")
    word = token("dupx")
    title = f"{word} declared twice"

    async def main() -> list[str]:
        urls = []
        for i, who in enumerate(("alice", "bob")):
            prepared, url = prepare_declare(w, title, w.people[who])
            await deliver(w, prepared, i, tally)
            urls.append(url)
        await wait_until(lambda: all_answered(w, [[u] for u in urls]), SETUP_TIMEOUT_S)
        return urls

    urls = run(w, main)
    snap = Snapshot.take(w)
    check_declared(snap, tally, title=title, word=word, response_url=urls[0], label="control")
    assert tally.duplicates >= 3, tally.summary()  # the row, the channel, the announcement...
