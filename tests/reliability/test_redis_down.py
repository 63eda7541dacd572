"""Redis stops and comes back.

While it is down: no replica crashes, `/healthz` says unhealthy, commands that only need
Postgres still work, and what needs a lock (a cluster operation's Confirm) refuses clearly
instead of acting unlocked: nothing reaches the cluster. After recovery both replicas are
healthy, the lock works again, and reminders due during or after the outage go out exactly
once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import redis
import sqlalchemy as sa

from tests.reliability.tally import Tally
from tests.reliability.test_postgres_down import (
    ACK_BUDGET_MS,
    answer_text,
    declare_ready,
    health,
    response_url_of,
    timed,
    wait_answer,
    wait_replicas_healthy,
)
from tests.reliability.world import NS, World

CI_TRIALS = 8
CI_REMINDER_INCIDENTS = 3
FAST_REMINDERS_S = 0.2
REFUSED = "nothing was done"


def _redis_up(world: World) -> bool:
    try:
        return bool(redis.Redis.from_url(world.bed.redis_server.url, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def _check_down(world: World, tally: Tally, when: str) -> None:
    if _redis_up(world):
        tally.fail(f"Redis answers {when}: no fault injected")
    for i, replica in enumerate(world.replicas):
        if replica.proc.poll() is not None:
            tally.fail(f"replica {i} exited {when} (code {replica.proc.returncode})")
            continue
        status, body = health(world, i)
        check = (body.get("checks") or {}).get("redis") or {}
        if status != 503 or check.get("status") == "healthy":
            tally.fail(f"/healthz of replica {i} {when}: {status} {body}")


@contextmanager
def redis_stopped(world: World) -> Iterator[None]:
    world.bed.redis_server.stop()
    try:
        yield
    finally:
        world.bed.redis_server.start()
        wait_replicas_healthy(world)


def _confirm_value(world: World, url: str, timeout: float = 10) -> str:
    def find() -> str | None:
        for r in world.emulator.responses(url):
            for block in r.body.get("blocks") or []:
                for el in block.get("elements") or []:
                    if el.get("action_id") == "ops_confirm":
                        return el["value"]
        return None

    return world.bed.wait_for(find, timeout=timeout)


def _patches(world: World, deployment: str) -> int:
    return sum(
        1
        for r in world.cluster.requests
        if r.method == "PATCH" and f"/deployments/{deployment}" in r.path
    )


def _all_texts(world: World, url: str) -> str:
    return "\n".join(str(r.body.get("text") or "") for r in world.emulator.responses(url))


def scenario_redis_locks(world: World, trials: int) -> Tally:
    """Per trial, with Redis stopped: press Confirm on a prepared `scale` (needs the deploy
    lock) and run a note (needs only Postgres), alternating replicas. Every Confirm must be
    refused with a sentence and leave the Deployment untouched; every note must work. After
    recovery the same Confirm scales the Deployment once."""
    tally = Tally("redis down: locks", trials=trials)
    w = world
    alice = w.people["alice"]
    run = uuid.uuid4().hex[:8]
    deployment = f"drill-{run}"
    w.cluster.create_deployment(NS, deployment, "img:v1", replicas=2)
    inc = declare_ready(w, f"SEV2 Redis drill {run}")
    ch = inc["channel_id"]
    prepared = w.drivers[0].command(f"scale {deployment} 4 -n {NS}", user_id=alice, channel_id=ch)
    value = _confirm_value(w, response_url_of(prepared))
    patches_before = _patches(w, deployment)

    with redis_stopped(w):
        _check_down(w, tally, "with Redis down")
        presses = []
        for t in range(trials):
            i = t % len(w.drivers)
            d = w.drivers[i]
            ms, r = timed(
                lambda: d.block_action("ops_confirm", value=value, user_id=alice, channel_id=ch)
            )
            tally.ack_ms.append(ms)
            if r.status_code != 200:
                tally.fail(f"Confirm on replica {i} answered {r.status_code}")
            presses.append((i, response_url_of(r)))
            ms, r = timed(lambda: d.command(f"note redis {run} {t}", user_id=alice, channel_id=ch))
            tally.ack_ms.append(ms)
            if "Note added" not in answer_text(r):
                tally.fail(f"note on replica {i} with Redis down: {r.text[:200]!r}")
        for i, url in presses:
            ms, text = wait_answer(w, url, timeout=10)
            if ms is None or REFUSED not in _all_texts(w, url):
                tally.fail(f"Confirm on replica {i} with Redis down was answered {text!r}")
        time.sleep(0.5)  # anything acting unlocked would have reached the cluster by now
        if _patches(w, deployment) != patches_before:
            tally.fail("the Deployment was patched while the lock service was down")
        if w.cluster.deployment(NS, deployment)["spec"]["replicas"] != 2:
            tally.fail("the Deployment was scaled while the lock service was down")
        _check_down(w, tally, "at the end of the outage")

    # after recovery the lock works again, and the operation runs once
    r = w.drivers[1].block_action("ops_confirm", value=value, user_id=alice, channel_id=ch)
    try:
        w.bed.wait_for(
            lambda: w.cluster.deployment(NS, deployment)["spec"]["replicas"] == 4, timeout=15
        )
    except AssertionError:
        tally.fail(f"after recovery Confirm did not scale: {_all_texts(w, response_url_of(r))!r}")

    def actions() -> list[dict]:
        return w.bed.rows(
            "SELECT data FROM timeline_events WHERE kind = 'action' AND incident_number = :n",
            n=inc["number"],
        )

    try:
        w.bed.wait_for(actions, timeout=15)
    except AssertionError:
        pass
    time.sleep(0.3)
    if len(actions()) != 1:
        tally.fail(f"{len(actions())} operations recorded, expected the one after recovery")
    stored = w.bed.rows(
        "SELECT count(*) AS n FROM timeline_events WHERE kind = 'note' AND text LIKE :t",
        t=f"redis {run}%",
    )[0]["n"]
    if stored != trials:
        tally.fail(f"{stored} of {trials} notes stored")
    return tally


# -- reminders ------------------------------------------------------------------------------


def _shift_back(world: World, numbers: list[int], seconds: int) -> None:
    """Move the declarations into the past: deadlines lapse without waiting minutes."""
    with world.bed._sync_engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE incidents SET declared_at = declared_at - make_interval(secs => :s) "
                "WHERE number = ANY(:ns)"
            ),
            {"s": seconds, "ns": numbers},
        )


def _escalations(world: World, channel: str) -> int:
    return sum(1 for m in world.emulator.messages(channel) if m.text.startswith("🚨 Incident"))


def _announced(world: World, number: int) -> int:
    incidents = world.emulator.channel_by_name("incidents")
    if incidents is None:
        return 0
    return sum(
        1
        for m in world.emulator.messages(incidents.id)
        if m.text.startswith("🚨 Escalation") and f"incident #{number} " in m.text
    )


def _expect_escalations(
    world: World, tally: Tally, incidents: list[dict], count: int, settle_s: float
) -> None:
    def all_sent() -> bool:
        return all(_escalations(world, i["channel_id"]) >= count for i in incidents)

    try:
        world.bed.wait_for(all_sent, timeout=20)
    except AssertionError:
        pass
    time.sleep(settle_s)  # many more ticks of both replicas: nothing may be sent again
    for inc in incidents:
        sent = _escalations(world, inc["channel_id"])
        loud = _announced(world, inc["number"])
        stored = world.bed.rows(
            "SELECT count(*) AS n FROM timeline_events WHERE kind = 'escalation' "
            "AND incident_number = :n",
            n=inc["number"],
        )[0]["n"]
        for what, n in (("in-channel", sent), ("announced", loud), ("stored", stored)):
            if n < count:
                tally.lost += count - n
                tally.notes.append(f"#{inc['number']}: {what} escalations {n} < {count}")
            elif n > count:
                tally.duplicates += n - count
                tally.notes.append(f"#{inc['number']}: {what} escalations {n} > {count}")


def _reminders_in(world: World, trials: int) -> Tally:
    tally = Tally("redis down: reminders", trials=trials)
    w = world
    alice = w.people["alice"]
    run = uuid.uuid4().hex[:6]
    incidents = [declare_ready(w, f"SEV1 Reminder drill {run} {t}") for t in range(trials)]
    numbers = [i["number"] for i in incidents]
    settle = 8 * FAST_REMINDERS_S + 0.3  # 8 ticks of each replica
    with redis_stopped(w):
        _check_down(w, tally, "with Redis down")
        _shift_back(w, numbers, 5 * 60 + 10)  # first ack deadline passes during the outage
        for t, inc in enumerate(incidents):
            d = w.drivers[t % len(w.drivers)]
            ms, r = timed(
                lambda: d.command(f"note {run}", user_id=alice, channel_id=inc["channel_id"])
            )
            tally.ack_ms.append(ms)
            if "Note added" not in answer_text(r):
                tally.fail(f"note with Redis down: {r.text[:200]!r}")
        _expect_escalations(w, tally, incidents, 1, settle)
        _check_down(w, tally, "at the end of the outage")
    _expect_escalations(w, tally, incidents, 1, settle)  # recovery sends nothing again
    # The second deadline passes after recovery. Not by exactly 5 min: deadlines are keyed on
    # declared_at + k·5 min, and a shift of one period would give the first one's key again.
    _shift_back(w, numbers, 5 * 60 + 20)
    _expect_escalations(w, tally, incidents, 2, settle)
    return tally


def _restart_all(world: World) -> None:
    """Restart every replica with ``world.env``, in parallel (each takes ~3 s)."""
    with ThreadPoolExecutor(len(world.replicas)) as pool:
        list(pool.map(world.restart_replica, range(len(world.replicas))))


def scenario_redis_reminders(world: World, trials: int) -> Tally:
    """`trials` SEV1 incidents whose first ack deadline lapses while Redis is down and whose
    second lapses after recovery: each escalation (channel message, #incidents announcement,
    timeline event) exactly once. Needs replicas ticking fast: replicas started with a slow
    REMINDER_INTERVAL_S are restarted fast for the scenario, then restarted as they were."""
    if float(world.env.get("REMINDER_INTERVAL_S", "15")) <= FAST_REMINDERS_S:
        return _reminders_in(world, trials)
    before = dict(world.env)
    world.env["REMINDER_INTERVAL_S"] = str(FAST_REMINDERS_S)
    try:
        _restart_all(world)
        return _reminders_in(world, trials)
    finally:
        world.env.clear()
        world.env.update(before)
        _restart_all(world)


def test_redis_outage_refuses_what_needs_a_lock(w: World) -> None:
    tally = scenario_redis_locks(w, CI_TRIALS)
    assert tally.clean, tally.summary()
    assert len(tally.ack_ms) == 2 * CI_TRIALS
    assert tally.p99_ms is not None and tally.p99_ms < ACK_BUDGET_MS, tally.p99_ms


def test_redis_outage_reminders_once(w: World) -> None:
    tally = scenario_redis_reminders(w, CI_REMINDER_INCIDENTS)
    assert tally.clean, tally.summary()
    assert tally.p99_ms is not None and tally.p99_ms < ACK_BUDGET_MS, tally.p99_ms
