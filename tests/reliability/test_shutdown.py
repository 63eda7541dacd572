"""Graceful shutdown: SIGTERM a `warroom serve` replica while it is declaring, then check what
Postgres says against what reached Slack, and that `/incident repair` on another replica
finishes the incident with every Slack effect exactly once.

The scenarios are plain functions (``scenario_*(world, trials) -> Tally``) so
`bench/reliability_report.py` can run them at larger counts; the tests run them at CI size.

How a step is caught "in progress": the Slack emulator's delay fault holds the step's Web API
call for a while (it is performed once the delay is over, even if the caller went away), the
test waits until the replica has made that call, then sends SIGTERM.

- drain: the delay is shorter than the grace period, so the replica must finish the
  declaration before it exits (post-ack work is drained) and exit 0.
- abandon: the replica's grace period (1 s) is shorter than the delay, so the replica gives up
  the step; Slack still performs it afterwards. `incidents.setup` may only claim steps Slack
  really did, and `/incident repair` on another replica must complete the incident without
  doing any step twice.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from warroom_sandbox.slack_driver import SlackDriver
from warroom_sandbox.testbed import SIGNING_SECRET, Replica

from tests.reliability.tally import Tally
from tests.reliability.world import World, free_port

STEPS = ("channel", "invite", "topic", "card", "pin", "announce")
# the Web API call that is each step; (method, how many earlier calls of it to let through)
STEP_CALL = {
    "channel": ("conversations.create", 0),
    "invite": ("conversations.invite", 0),
    "topic": ("conversations.setTopic", 0),
    "card": ("chat.postMessage", 0),
    "pin": ("pins.add", 0),
    "announce": ("chat.postMessage", 1),  # the card is the first chat.postMessage
}
PHASES = ("draining", "stop_accepting", "requests_drained", "post_ack_work_done", "done")
EXIT_TIMEOUT_S = 30.0


# -- helpers ------------------------------------------------------------------------------


def spawn_replicas(world: World, count: int, env: dict[str, str] | None = None) -> list[Replica]:
    """Fresh `warroom serve` processes sharing the world's stores and Slack, started together
    (each start is mostly imports: in parallel they take little more than one)."""
    merged = {**world.env, **(env or {})}
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(world.bed.spawn_replica, free_port(), merged) for _ in range(count)]
        return [f.result() for f in futures]


def driver_for(world: World, replica: Replica) -> SlackDriver:
    return SlackDriver(replica.url + "/slack/events", SIGNING_SECRET, emulator=world.emulator)


def sigterm(replica: Replica) -> float:
    """SIGTERM and wait for the exit; returns the seconds it took."""
    started = time.monotonic()
    replica.proc.send_signal(signal.SIGTERM)
    try:
        replica.proc.wait(EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        replica.proc.kill()
        replica.proc.wait()
    return time.monotonic() - started


def stop_quietly(replicas: Iterable[Replica]) -> None:
    for r in replicas:
        if r.proc.poll() is None:
            r.proc.kill()
            r.proc.wait()


def shutdown_phases(replica: Replica) -> list[str]:
    text = replica.log_path.read_text(errors="replace")
    return re.findall(r'"phase": "([a-z_]+)"', text)


def arm_step_delay(world: World, step: str, delay: float) -> None:
    method, let_through = STEP_CALL[step]
    for _ in range(let_through):
        world.emulator.fail(method, delay=0.001)
    world.emulator.fail(method, delay=delay)


def step_called(world: World, step: str, delay: float) -> bool:
    """The replica has made the step's call (the emulator has taken the delay fault)."""
    return not any(f.delay == delay for f in world.emulator.faults.armed())


def held_calls(world: World, method: str) -> int:
    """Calls of ``method`` Slack performed after a delay fault."""
    return sum(1 for c in world.emulator.calls(method) if c.fault == "delay")


def wait_until(pred: Callable[[], Any], timeout: float, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def incident_rows(world: World, title: str) -> list[dict[str, Any]]:
    return world.bed.rows("SELECT * FROM incidents WHERE title = :t ORDER BY number", t=title)


def setup_complete(world: World, number: int) -> dict[str, Any] | None:
    rows = world.bed.rows("SELECT * FROM incidents WHERE number = :n", n=number)
    if rows and set(rows[0]["setup"].get("done", [])) >= set(STEPS):
        return rows[0]
    return None


@dataclass
class SlackView:
    """What Slack holds for one incident."""

    channels: list[Any]  # channels named inc-<n>-...
    cards: list[Any]  # bot messages in the incident channel carrying the card
    pins: list[str]
    announcements: list[Any]  # messages in #incidents pointing at the channel
    members: list[str]
    topic: str


def slack_view(world: World, number: int, channel_id: str | None) -> SlackView:
    emu = world.emulator
    prefix = f"inc-{number}-"
    channels = [c for c in emu.channels() if c.name.startswith(prefix)]
    bot = emu.config.bot_user_id
    ids = [c.id for c in channels] + ([channel_id] if channel_id else [])
    cards, pins, members, topic = [], [], [], ""
    for cid in dict.fromkeys(ids):
        cards += [m for m in emu.messages(cid) if m.user == bot and "INCIDENT" in (m.text or "")]
        pins += [p.ts for p in emu.pins(cid)]
        members += emu.members(cid)
        topic = topic or emu.topic(cid)
    incidents = emu.channel_by_name(world.bed.settings.incidents_channel)
    announcements = []
    if incidents is not None:
        announcements = [
            m
            for m in emu.messages(incidents.id)
            if any(f"<#{cid}" in (m.text or "") for cid in ids)
        ]
    return SlackView(channels, cards, pins, announcements, members, topic)


def check_claims(world: World, inc: dict[str, Any], tally: Tally, label: str) -> None:
    """`incidents.setup` claims only steps Slack really did."""
    view = slack_view(world, inc["number"], inc["channel_id"])
    done = set(inc["setup"].get("done", []))
    evidence = {
        "channel": bool(inc["channel_id"]) and inc["channel_id"] in [c.id for c in view.channels],
        "invite": inc["reporter_id"] in view.members,
        "topic": inc["severity"] in view.topic,
        "card": bool(inc["card_ts"]) and inc["card_ts"] in [m.ts for m in view.cards],
        "pin": bool(inc["card_ts"]) and inc["card_ts"] in view.pins,
        "announce": bool(view.announcements),
    }
    for step in done:
        if not evidence[step]:
            tally.fail(f"{label}: setup claims {step!r} but Slack has no trace of it")


def check_exactly_once(world: World, inc: dict[str, Any], tally: Tally, label: str) -> None:
    """Every Slack effect of a complete declaration, once."""
    view = slack_view(world, inc["number"], inc["channel_id"])
    for what, items in (
        ("channel", view.channels),
        ("card", view.cards),
        ("pin", view.pins),
        ("announcement", view.announcements),
    ):
        if len(items) > 1:
            tally.duplicates += 1
            tally.notes.append(f"{label}: {len(items)} {what}s in Slack")
        elif not items:
            tally.lost += 1
            tally.notes.append(f"{label}: no {what} in Slack")
    if view.channels and inc["channel_id"] != view.channels[0].id:
        tally.fail(f"{label}: the incident points at another channel than Slack's")
    if view.cards and inc["card_ts"] not in [m.ts for m in view.cards]:
        tally.fail(f"{label}: the stored card_ts is not the card in Slack")


# A loaded 2-core machine (CI runs two test workers) adds seconds to a process's exit; what
# the limits catch is a replica that waits for abandoned work or never exits (EXIT_TIMEOUT_S).
EXIT_SLACK_S = 5.0


def check_clean_exit(replica: Replica, took: float, limit: float, tally: Tally, label: str) -> None:
    code = replica.proc.returncode
    if code != 0:
        tally.fail(f"{label}: exit code {code} after SIGTERM")
    limit += EXIT_SLACK_S
    if took > limit:
        tally.fail(f"{label}: took {took:.1f} s to exit (limit {limit:.1f} s)")
    missing = [p for p in PHASES if p not in shutdown_phases(replica)]
    if missing:
        tally.fail(f"{label}: no shutdown log line for {missing}")


def repair(world: World, driver: SlackDriver, number: int, tally: Tally, label: str) -> None:
    alice = world.people["alice"]
    r = driver.command(f"repair {number}", user_id=alice, channel_id="C0GEN")
    if r.status_code != 200:
        tally.fail(f"{label}: repair answered HTTP {r.status_code}")
        return
    if wait_until(lambda: setup_complete(world, number), timeout=10) is None:
        rows = world.bed.rows("SELECT setup FROM incidents WHERE number = :n", n=number)
        tally.fail(f"{label}: repair did not complete the set-up: {rows and rows[0]['setup']}")


def declare(world: World, driver: SlackDriver, title: str, tally: Tally, label: str) -> bool:
    r = driver.command(f"declare SEV2 {title}", user_id=world.people["alice"], channel_id="C0GEN")
    if r.status_code != 200:
        tally.fail(f"{label}: declare answered HTTP {r.status_code}")
        return False
    return True


# -- scenarios ----------------------------------------------------------------------------


def scenario_sigterm_drains_declare(
    world: World, trials: int, steps: tuple[str, ...] = STEPS
) -> Tally:
    """SIGTERM while a declare step is in flight (Slack answers in 1 s, the grace period is
    the default 20 s): the declaration completes before the process exits, exit code 0."""
    tally = Tally("sigterm_drains_declare")
    delay = 1.0
    plan = [steps[i % len(steps)] for i in range(trials)]
    replicas = spawn_replicas(world, len(plan))
    try:
        for i, (step, replica) in enumerate(zip(plan, replicas, strict=True)):
            label = f"drain/{step}#{i}"
            tally.trials += 1
            title = f"drain {step} {i} {time.time_ns()}"
            arm_step_delay(world, step, delay)
            if not declare(world, driver_for(world, replica), title, tally, label):
                continue
            if not wait_until(lambda step=step: step_called(world, step, delay), timeout=10):
                tally.fail(f"{label}: the step's Slack call never came")
                continue
            took = sigterm(replica)
            check_clean_exit(replica, took, limit=delay + 10, tally=tally, label=label)
            rows = incident_rows(world, title)
            if len(rows) != 1:
                tally.fail(f"{label}: {len(rows)} incidents stored")
                continue
            inc = rows[0]
            if set(inc["setup"].get("done", [])) != set(STEPS):
                tally.lost += 1
                tally.notes.append(f"{label}: exited with setup {inc['setup']}")
                continue
            check_claims(world, inc, tally, label)
            check_exactly_once(world, inc, tally, label)
            told = [r for r in world.emulator.responses() if f"#{inc['number']} declared" in r.text]
            if len(told) != 1:
                tally.fail(f"{label}: the declarer was told {len(told)} times")
    finally:
        world.emulator.clear_faults()
        stop_quietly(replicas)
    return tally


def scenario_sigterm_abandons_declare_step(
    world: World, trials: int, steps: tuple[str, ...] = STEPS
) -> Tally:
    """SIGTERM while a declare step is in flight and Slack holds the call longer than the
    replica's grace period (1 s): the replica abandons the step and exits in time; Slack
    performs the call afterwards. Postgres must hold the incident once, claim only steps Slack
    did, and `/incident repair` on another replica must finish it with every effect once."""
    plan = [steps[i % len(steps)] for i in range(trials)]
    tally = Tally("sigterm_abandons_declare_step")
    for sub in abandon_step_trials(world, plan).values():
        tally.trials += sub.trials
        tally.failures += sub.failures
        tally.duplicates += sub.duplicates
        tally.lost += sub.lost
        tally.notes += sub.notes[: 20 - len(tally.notes)]
    return tally


def abandon_step_trials(world: World, plan: list[str]) -> dict[str, Tally]:
    """One trial per entry of ``plan`` (a step name); a tally per step."""
    tallies = {step: Tally(f"sigterm_abandons_declare_step/{step}") for step in plan}
    grace, delay = 1.0, 2.5
    replicas = spawn_replicas(world, len(plan) + 1, {"WARROOM_SHUTDOWN_GRACE_S": str(grace)})
    repairer, victims = replicas[0], replicas[1:]
    try:
        for i, (step, replica) in enumerate(zip(plan, victims, strict=True)):
            tally = tallies[step]
            label = f"abandon/{step}#{i}"
            tally.trials += 1
            title = f"abandon {step} {i} {time.time_ns()}"
            method, let_through = STEP_CALL[step]
            before = held_calls(world, method) + let_through
            arm_step_delay(world, step, delay)
            if not declare(world, driver_for(world, replica), title, tally, label):
                continue
            if not wait_until(lambda step=step: step_called(world, step, delay), timeout=10):
                tally.fail(f"{label}: the step's Slack call never came")
                continue
            took = sigterm(replica)
            check_clean_exit(replica, took, limit=grace + 5, tally=tally, label=label)
            # Slack finishes the held call whether or not anybody is still waiting for it
            if not wait_until(lambda m=method, b=before: held_calls(world, m) > b, timeout=10):
                tally.fail(f"{label}: Slack never performed the held {method}")
            rows = incident_rows(world, title)
            if len(rows) != 1:
                tally.fail(f"{label}: {len(rows)} incidents stored")
                continue
            inc = rows[0]
            if step in inc["setup"].get("done", []):
                tally.fail(f"{label}: the replica was not interrupted in {step!r} ({inc['setup']})")
            check_claims(world, inc, tally, label)
            repair(world, driver_for(world, repairer), inc["number"], tally, label)
            done = setup_complete(world, inc["number"])
            if done:
                check_claims(world, done, tally, label + "/repaired")
                check_exactly_once(world, done, tally, label + "/repaired")
    finally:
        world.emulator.clear_faults()
        stop_quietly(replicas)
    return tallies


def scenario_sigterm_under_load(world: World, trials: int) -> Tally:
    """Declarations keep arriving while the replica is told to stop (delay 0.5 s on every
    channel creation so work is in flight): every declaration that was acknowledged is
    complete once the process has exited; one that was refused left nothing behind."""
    tally = Tally("sigterm_under_load")
    (replica,) = spawn_replicas(world, 1)
    driver = driver_for(world, replica)
    world.emulator.fail("conversations.create", delay=0.5, times=None)
    acked: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        title = f"load {i} {time.time_ns()}"
        try:
            r = driver.command(
                f"declare SEV3 {title}", user_id=world.people["bob"], channel_id="C0GEN"
            )
            ok = r.status_code == 200
        except httpx.HTTPError:
            ok = False
        with lock:
            (acked if ok else refused).append(title)

    try:
        threads = []
        for i in range(trials):
            t = threading.Thread(target=send, args=(i,))
            t.start()
            threads.append(t)
            if i == trials // 2:
                # half sent: stop the replica while the rest keep coming
                killer = threading.Thread(
                    target=lambda: tally.ack_ms.append(sigterm(replica) * 1000)
                )
                killer.start()
                threads.append(killer)
            time.sleep(0.02)
        for t in threads:
            t.join(60)
        tally.trials = trials
        check_clean_exit(replica, max(tally.ack_ms) / 1000, 0.5 + 10, tally, "load")
        for title in acked:
            rows = incident_rows(world, title)
            if len(rows) != 1:
                tally.lost += 1
                tally.notes.append(f"acked {title!r}: {len(rows)} incidents")
            elif set(rows[0]["setup"].get("done", [])) != set(STEPS):
                tally.lost += 1
                tally.notes.append(f"acked {title!r}: left with setup {rows[0]['setup']}")
        for title in refused:
            rows = incident_rows(world, title)
            if rows and set(rows[0]["setup"].get("done", [])) != set(STEPS):
                tally.fail(f"refused {title!r} left a half-done incident")
        tally.notes.append(f"{len(acked)} acked, {len(refused)} refused")
        if not acked:
            tally.fail("no declaration was acknowledged")
    finally:
        world.emulator.clear_faults()
        stop_quietly([replica])
    return tally


def scenario_healthz_draining(world: World, trials: int) -> Tally:
    """With WARROOM_SHUTDOWN_DELAY_S, a replica that got SIGTERM keeps its listener open but
    /healthz answers 503 "draining" (so a load balancer stops sending), Slack requests are
    still served, then it exits 0."""
    tally = Tally("healthz_draining")
    replicas = spawn_replicas(world, trials, {"WARROOM_SHUTDOWN_DELAY_S": "1.5"})
    try:
        for i, replica in enumerate(replicas):
            label = f"healthz#{i}"
            tally.trials += 1
            if httpx.get(replica.url + "/healthz", timeout=5).status_code != 200:
                tally.fail(f"{label}: not healthy before SIGTERM")
            started = time.monotonic()
            replica.proc.send_signal(signal.SIGTERM)
            seen = wait_until(
                lambda r=replica: _healthz(r) == (503, "draining"), timeout=1.0, interval=0.05
            )
            if not seen:
                tally.fail(f"{label}: /healthz did not say draining ({_healthz(replica)})")
            title = f"while draining {i} {time.time_ns()}"
            if declare(world, driver_for(world, replica), title, tally, label):
                rows = wait_until(lambda t=title: incident_rows(world, t), timeout=5)
                if not rows:
                    tally.lost += 1
                    tally.notes.append(f"{label}: a request accepted while draining was lost")
            try:
                replica.proc.wait(EXIT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
            check_clean_exit(replica, time.monotonic() - started, 1.5 + 10, tally, label)
    finally:
        stop_quietly(replicas)
    return tally


def _healthz(replica: Replica) -> tuple[int, str] | None:
    try:
        r = httpx.get(replica.url + "/healthz", timeout=1)
        return r.status_code, r.json().get("status")
    except (httpx.HTTPError, ValueError):
        return None


# -- tests --------------------------------------------------------------------------------


def _assert_clean(tally: Tally, trials: int) -> None:
    assert tally.trials == trials, tally.summary()
    assert tally.clean, tally.summary()


def test_sigterm_drains_an_in_flight_declaration(w: World) -> None:
    tally = scenario_sigterm_drains_declare(w, 3, steps=("channel", "card", "announce"))
    _assert_clean(tally, 3)


@pytest.fixture(scope="module")
def abandoned(world: World) -> dict[str, Tally]:
    """Every declare step interrupted once (one batch of replicas for all of them)."""
    world.reset()
    return abandon_step_trials(world, list(STEPS))


# The announcement is a chat.postMessage in #incidents: when Slack performed it but the replica
# stopped before storing it, repair posts it again (declare_flow looks for an earlier card in
# the incident channel, not yet for an earlier announcement; see the report of issue 7).
@pytest.mark.parametrize("step", STEPS)
def test_sigterm_mid_declare_step_then_repair(abandoned: dict[str, Tally], step: str) -> None:
    _assert_clean(abandoned[step], 1)


def test_sigterm_under_load_loses_no_acknowledged_declaration(w: World) -> None:
    tally = scenario_sigterm_under_load(w, 12)
    _assert_clean(tally, 12)


def test_healthz_says_draining_after_sigterm(w: World) -> None:
    tally = scenario_healthz_draining(w, 1)
    _assert_clean(tally, 1)


# -- Socket Mode: the same drain, without a Slack socket ------------------------------------


def test_socket_mode_post_ack_work_is_drained() -> None:
    """An envelope handled by `SocketModeDrain` (what `warroom serve` uses with
    SLACK_APP_TOKEN) leaves its post-ack work tracked by the app's drain: SIGTERM waits for it
    instead of dropping it. Bolt's plain handler, for contrast, leaves it untracked. The
    socket is not opened: the envelope is handed to the handler as the Socket Mode client
    would, and the ack is recorded instead of sent."""
    from types import SimpleNamespace

    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.authorization import AuthorizeResult
    from slack_sdk.socket_mode.request import SocketModeRequest

    from bot.cli import socket_mode_handler
    from bot.config import ShutdownConfig
    from bot.http.shutdown import Drain

    async def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-test")

    def envelope(n: int) -> SocketModeRequest:
        payload = {"command": "/incident", "text": "declare", "user_id": "U1", "team_id": "T1"}
        return SocketModeRequest(
            type="slash_commands", envelope_id=f"env-{n}", payload={**payload, "channel_id": "C1"}
        )

    async def scenario(plain: bool) -> tuple[int, list[str], tuple[int, int], list[str]]:
        drain = Drain(ShutdownConfig(grace_s=10.0))
        drain.install()
        release, done = asyncio.Event(), []
        app = AsyncApp(signing_secret="s", authorize=authorize)  # no auth.test call

        @app.command("/incident")
        async def incident(ack: Any) -> None:
            await ack()
            await release.wait()  # the post-ack work (a declaration's Slack steps)
            done.append("declared")

        asgi = SimpleNamespace(state=SimpleNamespace(bolt=app, drain=drain))
        if plain:
            handler: AsyncSocketModeHandler = AsyncSocketModeHandler(app, "xapp-test")
        else:
            handler = socket_mode_handler(asgi, "xapp-test")  # type: ignore[arg-type]
        acks: list[str] = []

        async def send(response: Any) -> None:
            acks.append(response.envelope_id)

        handler.client.send_socket_mode_response = send  # type: ignore[method-assign]
        # as the Socket Mode client does: one task per envelope, outside any request context
        await asyncio.create_task(handler.handle(handler.client, envelope(1)))
        tracked = len(drain.pending_work)
        drain.begin("SIGTERM")
        asyncio.get_running_loop().call_soon(release.set)
        result = await drain.finish_work()
        if not plain:
            await handler.stop_receiving()  # type: ignore[attr-defined]
        else:
            await handler.close_async()
        drain.uninstall()
        return tracked, acks, result, done

    tracked, acks, (finished, abandoned), done = asyncio.run(scenario(plain=False))
    assert acks == ["env-1"]  # acked before the work finished
    assert tracked == 1 and (finished, abandoned) == (1, 0)
    assert done == ["declared"]

    tracked, acks, _, _ = asyncio.run(scenario(plain=True))
    assert acks == ["env-1"] and tracked == 0  # what Socket Mode did before


def test_stop_accepting_also_stops_socket_mode_intake() -> None:
    """SIGTERM's "stop accepting" phase calls the hook `warroom serve` gives in Socket Mode
    (`SocketModeDrain.stop_receiving`), so no new envelope arrives while the work drains."""
    import uvicorn

    from bot.config import ShutdownConfig
    from bot.http.shutdown import Drain, WarroomServer

    calls: list[str] = []

    async def stop_receiving() -> None:
        calls.append("stop_receiving")

    async def scenario() -> bool:
        drain = Drain(ShutdownConfig(grace_s=1.0))
        server = WarroomServer(uvicorn.Config(app=None), drain, on_stop_accepting=stop_receiving)
        server._begin("SIGTERM")  # what handle_exit schedules on the loop
        assert server._stopping is not None
        await server._stopping
        return server.should_exit

    assert asyncio.run(scenario()) is True
    assert calls == ["stop_receiving"]
