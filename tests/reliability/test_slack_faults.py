"""Slack misbehaves while an incident is declared.

Every Web API method the declaration uses gets, in turn, a 429 with `Retry-After: 1` (the
client waits and retries: the incident finishes), then a fault that cannot be retried safely
or keeps failing: 5xx, a timeout, `channel_not_found`, `not_in_channel`. Then the declarer is
told which step failed, `incidents.setup` in Postgres claims only what Slack really did, and
`/incident repair N` finishes the job once the fault clears, without doing any step twice.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bot.flows.declare.setup import STEP_LABELS
from bot.slack.client import IDEMPOTENT
from tests.reliability.tally import Tally
from tests.reliability.test_postgres_down import (
    ACK_BUDGET_MS,
    response_url_of,
    timed,
    wait_answer,
)
from tests.reliability.world import SLACK_TIMEOUT_S, World

# Web API method → the declare step that fails when it does.
STEP_OF = {
    "conversations.create": "channel",
    "conversations.invite": "invite",
    "conversations.setTopic": "topic",
    "chat.postMessage": "card",
    "pins.add": "pin",
    "conversations.list": "announce",  # finding #incidents
    "conversations.join": "announce",  # the bot is not in #incidents yet
}
METHODS = tuple(STEP_OF)
HARD = ("5xx", "channel_not_found", "not_in_channel", "timeout")
CLIENT_TIMEOUT_S = SLACK_TIMEOUT_S  # the replicas' SLACK_TIMEOUT_S
# aiohttp may round a deadline up to the next whole second: a 4 s timeout fires within 5 s.
TIMEOUT_DELAY_S = CLIENT_TIMEOUT_S + 1.5


def _plan() -> list[tuple[str, str]]:
    """CI's trials first (a 429 per method, one hard fault per method, one timeout), then the
    rest of the method x fault matrix for longer runs."""
    first = [(m, "429") for m in METHODS]
    first += [(m, HARD[j % 3]) for j, m in enumerate(METHODS)]
    first.append(("chat.postMessage", "timeout"))  # the card lands late: not posted twice
    rest = [(m, k) for k in HARD for m in METHODS if (m, k) not in first]
    return first + rest


PLAN = _plan()
TRIAL_S: list[tuple[str, str, float]] = []
CI_TRIALS = 2 * len(METHODS) + 1


def _arm(world: World, method: str, kind: str) -> None:
    emu = world.emulator
    if kind == "429":
        emu.fail(method, retry_after=1, times=1)
    elif kind == "5xx":
        emu.fail(method, status=503, times=None)
    elif kind == "timeout":
        emu.fail(method, delay=TIMEOUT_DELAY_S, times=1)
    else:
        emu.fail(method, error=kind, times=None)


def _incident(world: World, number: int) -> dict[str, Any]:
    return world.bed.rows("SELECT * FROM incidents WHERE number = :n", n=number)[0]


def _announcements(world: World, channel_id: str) -> int:
    incidents = world.emulator.channel_by_name("incidents")
    if incidents is None:
        return 0
    return sum(1 for m in world.emulator.messages(incidents.id) if f"<#{channel_id}>" in m.text)


def _cards(world: World, channel_id: str) -> int:
    bot = world.emulator.config.bot_user_id
    return sum(
        1
        for m in world.emulator.messages(channel_id)
        if m.user == bot and "Incident Commander" in m.text
    )


def false_claims(world: World, inc: dict[str, Any]) -> list[str]:
    """Steps `incidents.setup` says are done that Slack does not show."""
    emu, done, ch = world.emulator, set(inc["setup"].get("done", [])), inc["channel_id"]
    wrong = []
    if "channel" in done and (not ch or emu.channel(ch) is None):
        wrong.append("channel")
    if not ch:
        return wrong + sorted(done - {"channel"})
    members = set(emu.members(ch))
    if "invite" in done and not {inc["reporter_id"], inc["commander_id"]} <= members:
        wrong.append("invite")
    if "topic" in done and inc["severity"] not in emu.topic(ch):
        wrong.append("topic")
    if "card" in done and (not inc["card_ts"] or emu.message(ch, inc["card_ts"]) is None):
        wrong.append("card")
    if "pin" in done and inc["card_ts"] not in [p.ts for p in emu.pins(ch)]:
        wrong.append("pin")
    if "announce" in done and _announcements(world, ch) == 0:
        wrong.append("announce")
    return wrong


def _effects_once(world: World, tally: Tally, inc: dict[str, Any], label: str) -> None:
    ch = inc["channel_id"]
    created = [
        c
        for c in world.emulator.calls("conversations.create")
        if c.ok and (c.response.get("channel") or {}).get("id") == ch
    ]
    counts = {
        "channel": len(created) or int(bool(inc["setup"].get("adopted"))),
        "card": _cards(world, ch),
        "pin": len(world.emulator.pins(ch)),
        "announcement": _announcements(world, ch),
    }
    for what, n in counts.items():
        if n > 1:
            tally.duplicates += n - 1
            tally.notes.append(f"{label}: {n} × {what}")


def _faulted(world: World, method: str) -> bool:
    return any(c.fault for c in world.emulator.calls(method))


def _trial(world: World, tally: Tally, k: int, method: str, kind: str) -> None:
    w = world
    w.reset()  # a fresh workspace: the bot is outside #incidents, replicas' caches are stale
    alice = w.people["alice"]
    label = f"{kind} on {method}"
    _arm(w, method, kind)
    d = w.drivers[k % len(w.drivers)]
    title = f"SEV2 {kind} on {method} {uuid.uuid4().hex[:4]}"
    ms, r = timed(lambda: d.command(f"declare {title}", user_id=alice, channel_id="C0GEN"))
    tally.ack_ms.append(ms)
    if r.status_code != 200:
        tally.fail(f"{label}: declare answered {r.status_code}")
        return
    wait_s = 30 if kind == "timeout" else 15
    _, told = wait_answer(w, response_url_of(r), timeout=wait_s)
    rows = w.bed.rows("SELECT number FROM incidents")
    if not told or len(rows) != 1:
        tally.fail(f"{label}: the declarer heard {told!r}; {len(rows)} incidents stored")
        return
    number = rows[0]["number"]
    if kind == "timeout":  # Slack finishes the late call after the client gave up
        try:
            w.bed.wait_for(lambda: _faulted(w, method), timeout=5)
        except AssertionError:
            pass
    if not _faulted(w, method):
        tally.fail(f"{label}: Slack never answered {method} with the fault")
    inc = _incident(w, number)
    if wrong := false_claims(w, inc):
        tally.fail(f"{label}: setup claims {wrong} that Slack does not show")
    step = STEP_OF[method]
    complete = set(inc["setup"].get("done", [])) == set(STEP_LABELS)
    if kind == "timeout" and method in IDEMPOTENT and complete:
        kind = "429"  # an idempotent call timed out and was retried: finished, like a 429
    if kind == "429":
        calls = w.emulator.calls(method)
        if not (calls and calls[0].fault and any(c.ok and not c.fault for c in calls)):
            tally.fail(f"{label}: not retried ({[(c.fault, c.ok) for c in calls]})")
        if set(inc["setup"].get("done", [])) != set(STEP_LABELS) or inc["setup"].get("failed"):
            tally.fail(f"{label}: set-up not finished: {inc['setup']}")
        if f"Incident #{number} declared" not in told:
            tally.fail(f"{label}: the declarer was told {told!r}")
        _effects_once(w, tally, inc, label)
        return
    # a hard fault: honest incident, the person told which step and how to repair
    step_text = "could not " + STEP_LABELS[step].format(incidents="incidents")
    if step_text not in told or f"/incident repair {number}" not in told:
        tally.fail(f"{label}: the declarer was told {told!r}, expected {step_text!r}")
    if step in inc["setup"].get("done", []) or step not in inc["setup"].get("failed", {}):
        tally.fail(f"{label}: setup does not record the {step} failure: {inc['setup']}")
    w.emulator.clear_faults()
    repairer = w.drivers[(k + 1) % len(w.drivers)]
    ms, r = timed(lambda: repairer.command(f"repair {number}", user_id=alice, channel_id="C0GEN"))
    tally.ack_ms.append(ms)
    _, repaired = wait_answer(w, response_url_of(r), timeout=15)
    inc = _incident(w, number)
    if set(inc["setup"].get("done", [])) != set(STEP_LABELS) or inc["setup"].get("failed"):
        tally.fail(f"{label}: repair did not finish: {inc['setup']}; told {repaired!r}")
    elif f"Incident #{number} declared" not in repaired:
        tally.fail(f"{label}: after repair the person was told {repaired!r}")
    if wrong := false_claims(w, inc):
        tally.fail(f"{label}: after repair setup claims {wrong} that Slack does not show")
    _effects_once(w, tally, inc, label)


def scenario_slack_faults(world: World, trials: int) -> Tally:
    """Trial k declares one incident under PLAN[k % len(PLAN)] (a method and a fault),
    alternating replicas; hard faults are repaired from the other replica."""
    tally = Tally("slack faults", trials=trials)
    try:
        for k in range(trials):
            method, kind = PLAN[k % len(PLAN)]
            started = time.monotonic()
            _trial(world, tally, k, method, kind)
            TRIAL_S.append((method, kind, time.monotonic() - started))
            if kind != "timeout" and time.monotonic() - started > 20:
                tally.fail(f"{kind} on {method}: the trial took {time.monotonic() - started:.0f} s")
    finally:
        world.emulator.clear_faults()
    return tally


def test_slack_faults_on_every_declare_method(w: World) -> None:
    tally = scenario_slack_faults(w, CI_TRIALS)
    assert tally.clean, tally.summary()
    assert {m for m, k in PLAN[:CI_TRIALS] if k == "429"} == set(METHODS)
    assert tally.p99_ms is not None and tally.p99_ms < ACK_BUDGET_MS, tally.p99_ms
