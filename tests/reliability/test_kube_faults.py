"""The Kubernetes API misbehaves between the plan and the Confirm: 403, 404, 409, 500 and a
hanging API. The person gets a plain answer, the deploy lock is released, the timeline
records the failure, and a 409 is retried on a fresh read."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

from tests.e2e.test_declare import setup_finished
from tests.reliability.slack_steps import confirm_value, rolled_out, seed_rollback_target
from tests.reliability.tally import Tally
from tests.reliability.world import NS, World, free_port


@dataclass(frozen=True)
class KubeFault:
    label: str
    method: str
    status: int | None
    hang_s: float = 0.0
    expect_ok: bool = False  # a 409 once is retried and succeeds
    says: tuple[str, ...] = ()  # any of these (lower case) in the answer


FAULTS = (
    KubeFault("403 on patch", "PATCH", 403, says=("permission", "forbidden", "not allowed")),
    KubeFault("404 on read", "GET", 404, says=("not found", "does not exist", "no deployment")),
    KubeFault("409 once on patch", "PATCH", 409, expect_ok=True),
    KubeFault("500 on patch", "PATCH", 500, says=("500", "error", "failed")),
    KubeFault("API hangs on read", "GET", None, hang_s=13.0, says=("did not answer", "timed out")),
)

TRACEBACK_MARKS = ("Traceback", "Exception:", 'File "', "ApiException")


def _image(world: World, name: str) -> str:
    spec = world.cluster.deployment(NS, name)["spec"]["template"]["spec"]
    return spec["containers"][0]["image"]


def _answer(world: World, seen: int) -> str | None:
    """The clicker's final answer: the first response after "Working on…"."""
    texts = [r.text for r in world.emulator.responses()[seen:] if r.text]
    final = [t for t in texts if not t.startswith("⏳ Working on")]
    return final[-1] if final else None


def _actions(world: World, number: int) -> list[dict[str, Any]]:
    return world.bed.rows(
        "SELECT * FROM timeline_events WHERE kind = 'action' AND incident_number = :n ORDER BY id",
        n=number,
    )


def scenario_kube_faults(world: World, trials: int) -> Tally:
    """``trials`` rounds over every fault; plan through one replica, Confirm through the other."""
    tally = Tally("Kubernetes API faults (403/404/409/500/hang)", trials=0)
    alice = world.people["alice"]
    store = redis.Redis.from_url(world.bed.redis_server.url)
    number = len(world.bed.rows("SELECT number FROM incidents")) + 1
    world.drivers[0].command("declare SEV2 the cluster misbehaves", user_id=alice, channel_id="C0")
    inc = world.bed.wait_for(lambda: setup_finished(world.bed, number), timeout=20)
    channel = inc["channel_id"]
    try:
        for _ in range(trials):
            for fault in FAULTS:
                tally.trials += 1
                name = f"faulty-{free_port()}"
                seed_rollback_target(world, name, replicas=2)
                # the seeding rollout's status writes would meet the PATCH as a real 409
                world.bed.wait_for(lambda n=name: rolled_out(world, n), timeout=20)
                seen = len(world.emulator.responses())
                world.drivers[0].command(
                    f"rollback {name} -n {NS}", user_id=alice, channel_id=channel
                )
                value = world.bed.wait_for(lambda s=seen: confirm_value(world, None, s), timeout=20)
                before = len(_actions(world, number))
                world.cluster.inject_fault(
                    fault.method,
                    f"*/deployments/{name}",
                    fault.status,
                    count=1 if fault.expect_ok else None,
                    hang_seconds=fault.hang_s,
                )
                seen = len(world.emulator.responses())
                started = time.monotonic()
                resp = world.drivers[1].block_action(
                    "ops_confirm", value=value, user_id=alice, channel_id=channel
                )
                tally.ack_ms.append((time.monotonic() - started) * 1000)
                if resp.status_code != 200:
                    tally.fail(f"{fault.label}: HTTP {resp.status_code}")
                try:
                    rows = world.bed.wait_for(
                        lambda b=before: (r := _actions(world, number)) and len(r) > b and r,
                        timeout=40,
                    )
                    answer = world.bed.wait_for(lambda s=seen: _answer(world, s), timeout=10)
                except AssertionError:
                    tally.lost += 1
                    tally.fail(f"{fault.label}: no answer or no timeline record")
                    continue
                finally:
                    world.cluster.faults.clear()
                outcome = rows[-1]["data"].get("outcome")
                locked = store.exists(f"warroom:lock:deploy:{NS}/{name}")
                if locked:
                    tally.fail(f"{fault.label}: the deploy lock is still held")
                if any(mark in answer for mark in TRACEBACK_MARKS):
                    tally.fail(f"{fault.label}: a traceback reached the person: {answer[:200]}")
                if fault.expect_ok:
                    if outcome != "succeeded" or _image(world, name) != "img:v1":
                        tally.fail(f"{fault.label}: not retried to success: {outcome} {answer}")
                    continue
                if outcome == "succeeded" or _image(world, name) != "img:v2":
                    tally.fail(f"{fault.label}: the change went through: {outcome}")
                if not any(word in answer.lower() for word in fault.says):
                    tally.fail(f"{fault.label}: unclear answer {answer!r}")
                data = rows[-1]["data"]
                if not (data.get("refused_reason") or data.get("failed_reason")):
                    tally.fail(f"{fault.label}: the timeline has no reason: {rows[-1]['data']}")
    finally:
        world.cluster.faults.clear()
    return tally


def test_kubernetes_faults_get_plain_answers_and_release_the_lock(w: World) -> None:
    tally = scenario_kube_faults(w, 1)
    assert tally.trials == len(FAULTS)
    assert tally.clean, tally.summary()
