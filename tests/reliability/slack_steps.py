"""Steps the duplicate and concurrency scenarios share: timed deliveries to either replica,
async waits, and accounting of what reached Postgres, the Slack emulator and the fake cluster.

Plain functions (no pytest) so `bench/reliability_report.py` can run the scenarios too.
Scenarios are async inside (one event loop per scenario, see `run`) so that "at once" means
requests really in flight together; blocking look-ups in waits run in a thread.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
from warroom_sandbox.fake_cluster.resources import DEPLOYMENTS
from warroom_sandbox.slack_driver import Prepared, SendOptions
from warroom_sandbox.slack_emulator.model import Call, Channel, ResponseRecord

from tests.reliability.tally import Tally
from tests.reliability.world import NS, World

T = TypeVar("T")
SETUP_STEPS = ("channel", "invite", "topic", "card", "pin", "announce")
MAX_NOTES = 20


# -- tally helpers ------------------------------------------------------------------------


def note(tally: Tally, text: str) -> None:
    if len(tally.notes) < MAX_NOTES:
        tally.notes.append(text)


def duplicated(tally: Tally, count: int, what: str) -> None:
    """`count` effects beyond the one expected."""
    if count > 0:
        tally.duplicates += count
        note(tally, f"duplicate ×{count}: {what}")


def lost(tally: Tally, what: str, count: int = 1) -> None:
    tally.lost += count
    note(tally, f"lost: {what}")


def expect_one(tally: Tally, count: int, what: str) -> bool:
    """Exactly one `what`: more are duplicates, none is a loss."""
    if count == 0:
        lost(tally, what)
    duplicated(tally, count - 1, what)
    return count == 1


# -- running ------------------------------------------------------------------------------


def run(world: World, main: Callable[[], Awaitable[T]]) -> T:
    """Run one scenario's coroutine on its own event loop, closing the drivers' async
    clients for that loop afterwards."""

    async def wrapper() -> T:
        try:
            return await main()
        finally:
            for driver in world.drivers:
                await driver.aclose()

    return asyncio.run(wrapper())


async def wait_until(
    predicate: Callable[[], T],
    timeout: float,  # noqa: ASYNC109 - a polling deadline, not a cancel scope
    interval: float = 0.05,
) -> T | None:
    """Poll `predicate` (in a thread: it may query Postgres or the emulator) until truthy;
    its value, or None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(predicate)
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(interval)


def token(prefix: str) -> str:
    """A short unique word to name a trial's incident or Deployment (and find it again)."""
    return f"{prefix}{secrets.token_hex(3)}"


# -- delivering ---------------------------------------------------------------------------


async def deliver(
    world: World,
    prepared: Prepared,
    replica: int,
    tally: Tally,
    *,
    retry_num: int | None = None,
    what: str = "request",
) -> httpx.Response | None:
    """POST `prepared` to replica `replica` (freshly signed; with X-Slack-Retry-Num when
    given); the ack latency goes to the tally, a non-200 or no answer is a failure."""
    driver = world.drivers[replica]
    opts = SendOptions(retry_num=retry_num)
    started = time.perf_counter()
    try:
        resp = await driver.asend(prepared.body, prepared.content_type, driver.app_url, opts)
    except httpx.HTTPError as exc:
        tally.fail(f"{what} to replica {replica}: no answer ({type(exc).__name__})")
        return None
    tally.ack_ms.append((time.perf_counter() - started) * 1000)
    if resp.status_code != 200:
        tally.fail(f"{what} to replica {replica}: HTTP {resp.status_code} {resp.text[:80]}")
    return resp


async def deliver_together(
    world: World,
    sends: Iterable[tuple[Prepared, int, int | None]],
    tally: Tally,
    what: str = "request",
) -> list[httpx.Response | None]:
    """Several deliveries (prepared, replica, retry_num) in flight at once."""
    return await asyncio.gather(
        *(deliver(world, p, r, tally, retry_num=n, what=what) for p, r, n in sends)
    )


def payload_of(prepared: Prepared) -> dict[str, Any]:
    return json.loads(parse_qs(prepared.body.decode())["payload"][0])


def action_ts_of(prepared: Prepared) -> str:
    return str(payload_of(prepared)["actions"][0]["action_ts"])


def general(world: World) -> str:
    return world.emulator.channel_by_name("general").id


def prepare_declare(world: World, title: str, user: str) -> tuple[Prepared, str]:
    """`/incident declare SEV3 <title>` from `user` in #general, and its response_url."""
    channel = general(world)
    url = world.emulator.new_response_url(channel, user)
    prepared = world.drivers[0].prepare_command(
        f"declare SEV3 {title}", user, channel, response_url=url
    )
    return prepared, url


def prepare_click(
    world: World,
    action_id: str,
    value: str,
    user: str,
    channel: str,
    *,
    message_ts: str | None = None,
    taken: set[str] | None = None,
) -> tuple[Prepared, str]:
    """One distinct click (its own action_ts, as Slack gives each click) and its
    response_url; `taken` collects action_ts values already used so two clicks never
    share one."""
    taken = taken if taken is not None else set()
    while True:
        url = world.emulator.new_response_url(channel, user, message_ts)
        prepared = world.drivers[0].prepare_block_action(
            action_id,
            value,
            user_id=user,
            channel_id=channel,
            message_ts=message_ts,
            response_url=url,
        )
        ts = action_ts_of(prepared)
        if ts not in taken:
            taken.add(ts)
            return prepared, url
        time.sleep(0.00001)


# -- reading back -------------------------------------------------------------------------


def incident_titled(world: World, title: str) -> dict[str, Any] | None:
    rows = world.bed.rows("SELECT * FROM incidents WHERE title = :t ORDER BY number", t=title)
    return rows[0] if rows else None


def setup_done(inc: dict[str, Any] | None) -> bool:
    if inc is None:
        return False
    setup = inc["setup"] or {}
    return len(set(setup.get("done", [])) | set(setup.get("failed", {}))) >= len(SETUP_STEPS)


def ready_incident(world: World, title: str) -> dict[str, Any] | None:
    inc = incident_titled(world, title)
    return inc if setup_done(inc) else None


@dataclass
class Snapshot:
    """Everything the accounting reads, taken once (the emulator deep-copies on every read)."""

    incidents: list[dict[str, Any]]
    events: list[dict[str, Any]]
    calls: list[Call]
    channels: list[Channel]
    responses: list[ResponseRecord]
    _by_url: dict[str, list[ResponseRecord]] = field(default_factory=dict)

    @classmethod
    def take(cls, world: World) -> Snapshot:
        snap = cls(
            incidents=world.bed.rows("SELECT * FROM incidents ORDER BY number"),
            events=world.bed.rows("SELECT * FROM timeline_events ORDER BY id"),
            calls=world.emulator.calls(),
            channels=world.emulator.channels(),
            responses=world.emulator.responses(),
        )
        for r in snap.responses:
            snap._by_url.setdefault(r.url_id, []).append(r)
        return snap

    def titled(self, title: str) -> list[dict[str, Any]]:
        return [i for i in self.incidents if i["title"] == title]

    def events_of(self, number: int, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e["incident_number"] == number and (kind is None or e["kind"] == kind)
        ]

    def channel(self, channel_id: str | None) -> Channel | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def channel_named(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)

    def answers(self, url: str) -> list[ResponseRecord]:
        """The response_url POSTs the app made to `url`."""
        return self._by_url.get(url.rstrip("/").rsplit("/", 1)[-1], [])


def check_declared(
    snap: Snapshot, tally: Tally, *, title: str, word: str, response_url: str, label: str
) -> dict[str, Any] | None:
    """One trial's declaration, everywhere it shows: one incident row with all six set-up
    steps, one `declared` event and one of each `setup.*`, one channel created, one card
    posted and pinned, one announcement, and one answer to the declarer."""
    rows = snap.titled(title)
    if not expect_one(tally, len(rows), f"{label}: incident row"):
        if not rows:
            return None
    inc = rows[0]
    setup = inc["setup"] or {}
    if setup.get("failed") or set(setup.get("done", [])) != set(SETUP_STEPS):
        tally.fail(f"{label}: set-up of #{inc['number']} is {setup}")
    for row in rows:
        number = row["number"]
        expect_one(tally, len(snap.events_of(number, "declared")), f"{label}: declared event")
        for step in SETUP_STEPS:
            expect_one(
                tally, len(snap.events_of(number, f"setup.{step}")), f"{label}: setup.{step} event"
            )

    creates = [
        c
        for c in snap.calls
        if c.method == "conversations.create" and word in str(c.args.get("name", ""))
    ]
    expect_one(tally, len(creates), f"{label}: conversations.create")
    made = [c for c in snap.channels if word in c.name]
    expect_one(tally, len(made), f"{label}: incident channel")
    channel = snap.channel(inc["channel_id"])
    if channel is None:
        tally.fail(f"{label}: incident #{inc['number']} names no existing channel")
        return inc
    cards = [
        c
        for c in snap.calls
        if c.method == "chat.postMessage"
        and c.args.get("channel") == channel.id
        and c.args.get("blocks")
    ]
    expect_one(tally, len(cards), f"{label}: card chat.postMessage")
    posted = [m for m in channel.messages if not m.is_system]
    expect_one(tally, len(posted), f"{label}: message in the new channel (the card)")
    expect_one(tally, len(channel.pins), f"{label}: pin")
    if channel.pins and channel.pins[0].ts != inc["card_ts"]:
        tally.fail(f"{label}: the pinned message is not the stored card")
    announcements = snap.channel_named("incidents")
    said = [
        m for m in (announcements.messages if announcements else []) if f"<#{channel.id}>" in m.text
    ]
    expect_one(tally, len(said), f"{label}: announcement in #incidents")
    answers = snap.answers(response_url)
    told = [r for r in answers if f"Incident #{inc['number']} declared" in r.text]
    expect_one(tally, len(told), f"{label}: 'declared' answer to the declarer")
    duplicated(tally, len(answers) - len(told), f"{label}: other answers {answers[-1:]!r}")
    return inc


# -- rollbacks ----------------------------------------------------------------------------

V1, V2 = "img:v1", "img:v2"


def seed_rollback_target(world: World, name: str, replicas: int = 1) -> None:
    """A one-replica Deployment in prod at revision 2 (`img:v2`) whose revision 1 was
    `img:v1`: `/incident rollback <name> -n prod` offers 2 → 1. Wait for `rolled_out`
    before planning, or the rollout's own status writes make the rollback's PATCH meet a
    resourceVersion conflict (and be sent twice, correctly, which the counts would see)."""
    world.cluster.create_deployment(NS, name, V1, replicas=replicas)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": V2}]}}}}
    world.cluster.api.patch(DEPLOYMENTS, NS, name, "application/strategic-merge-patch+json", patch)


def rolled_out(world: World, name: str) -> bool:
    """The Deployment's rollout is complete and its status no longer moves."""
    world.cluster.reconcile()
    d = world.cluster.deployment(NS, name)
    status = d.get("status") or {}
    want = d["spec"].get("replicas", 1)
    return (
        status.get("observedGeneration", 0) >= d["metadata"].get("generation", 0)
        and status.get("updatedReplicas", 0) == want
        and status.get("replicas", 0) == want
        and status.get("availableReplicas", 0) == want
    )


def template_patches(world: World, name: str) -> int:
    """PATCHes of the Deployment itself (a rollback writes the old template back)."""
    records = list(world.cluster.requests)  # the cluster only ever appends
    return sum(
        1 for r in records if r.method == "PATCH" and r.path.endswith(f"/deployments/{name}")
    )


def revision_and_image(world: World, name: str) -> tuple[str, str]:
    d = world.cluster.deployment(NS, name)
    rev = (d["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "")
    return rev, d["spec"]["template"]["spec"]["containers"][0]["image"]


def confirm_value(world: World, url: str | None, since: int = 0) -> str | None:
    """The Confirm button's value in the plan answered to `url` (any, when None), among the
    responses from index `since` on, once it is there."""
    for r in world.emulator.responses(url)[since:]:
        for block in r.body.get("blocks") or []:
            for el in block.get("elements") or []:
                if el.get("action_id") == "ops_confirm":
                    return str(el["value"])
    return None


def prepare_rollback_command(
    world: World, name: str, user: str, channel: str
) -> tuple[Prepared, str]:
    url = world.emulator.new_response_url(channel, user)
    prepared = world.drivers[0].prepare_command(
        f"rollback {name} -n {NS}", user, channel, response_url=url
    )
    return prepared, url


async def plan_rollback(
    world: World, name: str, user: str, channel: str, replica: int, tally: Tally, label: str
) -> str | None:
    """Run `/incident rollback` and wait for the planned ephemeral's Confirm value."""
    prepared, url = prepare_rollback_command(world, name, user, channel)
    await deliver(world, prepared, replica, tally, what=f"{label}: rollback command")
    value = await wait_until(lambda: confirm_value(world, url), timeout=15)
    if value is None:
        lost(tally, f"{label}: the rollback plan never came")
    return value


def action_recorded(world: World, name: str) -> list[dict[str, Any]]:
    return world.bed.rows(
        "SELECT * FROM timeline_events WHERE kind = 'action' AND data->>'target' = :t ORDER BY id",
        t=f"{NS}/{name}",
    )


def remove_deployment(world: World, name: str) -> None:
    """Keep the shared fake cluster small (its controller walks every ReplicaSet)."""
    try:
        world.cluster.api.delete(DEPLOYMENTS, NS, name)
    except Exception:  # already gone
        return


def final_answers(answers: list[ResponseRecord]) -> list[str]:
    """What a Confirm press was finally told (not the interim "Working on…")."""
    return [r.text for r in answers if not r.text.startswith("⏳ Working on")]


def rollback_messages(snap: Snapshot, channel: str, name: str) -> tuple[int, int]:
    """How many "started" and "succeeded" messages the incident channel has for `name`."""
    ch = snap.channel(channel)
    texts = [m.text for m in (ch.messages if ch else [])]
    target = f"{NS}/{name}"
    started = sum(1 for t in texts if "started:" in t and f"`{target}`" in t)
    verdicts = sum(1 for t in texts if f"rollback of {target} succeeded" in t)
    return started, verdicts


# what a Confirm press can be told, besides the success of its own rollback
IN_PROGRESS = "already in progress"
CONFIRMED = "already confirmed by"
DONE_TEXTS = ("already in the planned state", "Already done")
CHANGED = "changed since this was planned"


def classify_answer(text: str, holders: set[str], actor: str | None) -> str:
    """`succeeded`, `in_progress` (told who holds the lock: one of `holders`, the people
    whose presses took it), `already` (told it was done, by `actor` when named), `changed`,
    `wrong_holder` (names someone who never held it) or `other`."""
    if text.startswith("✅") and "succeeded" in text:
        return "succeeded"
    if IN_PROGRESS in text:
        return "in_progress" if any(f"<@{h}>" in text for h in holders) else "wrong_holder"
    if CONFIRMED in text:
        return "already" if actor and f"<@{actor}>" in text else "wrong_holder"
    if any(t in text for t in DONE_TEXTS):
        return "already"
    if CHANGED in text:
        return "changed"
    return "other"


@dataclass
class OpsTally(Tally):
    """A Tally that also counts what the other pressers of a Confirm were told."""

    told: dict[str, int] = field(default_factory=dict)

    def told_one(self, kind: str) -> None:
        self.told[kind] = self.told.get(kind, 0) + 1


def check_actions(
    tally: OpsTally, events: list[dict[str, Any]], label: str
) -> tuple[dict[str, Any] | None, set[str]]:
    """The `action` events of one trial: exactly one that reached the cluster (and
    succeeded); others may only be refusals audited for presses that took the lock after it
    (told "already done" or "changed"). The one that ran, and everyone who held the lock."""
    ran = [e for e in events if (e["data"] or {}).get("outcome") != "refused"]
    expect_one(tally, len(ran), f"{label}: action event that reached the cluster")
    if ran and (ran[0]["data"] or {}).get("outcome") != "succeeded":
        tally.fail(f"{label}: outcome {(ran[0]['data'] or {}).get('outcome')}")
    return (ran[0] if ran else None), {e["actor"] for e in events}


def check_press_answers(
    tally: OpsTally,
    snap: Snapshot,
    urls: list[str],
    label: str,
    actor: str | None,
    holders: set[str],
    refusals: int = 0,
) -> None:
    """Of the distinct presses answered at `urls`, exactly one is told its rollback
    succeeded; every other is told, once, that it is in progress (naming who holds the
    lock) or already done/changed; none is left without an answer. `refusals` audited
    `action` events need as many presses told "already done" or "changed"."""
    winners = 0
    after = 0
    for url in urls:
        said = final_answers(snap.answers(url))
        if not said:
            lost(tally, f"{label}: a press was never answered")
            continue
        duplicated(tally, len(said) - 1, f"{label}: one press answered {said}")
        kind = classify_answer(said[0], holders, actor)
        if kind == "succeeded":
            winners += 1
            continue
        tally.told_one(kind)
        after += kind in ("already", "changed")
        if kind in ("wrong_holder", "other"):
            tally.fail(f"{label}: a press was told {said[0]!r} (lock holders {holders})")
    expect_one(tally, winners, f"{label}: 'succeeded' answer")
    duplicated(tally, refusals - after, f"{label}: refused action events for no refused press")


def all_answered(world: World, groups: list[list[str]]) -> bool:
    """Every group of response_urls got at least one answer (one emulator read)."""
    seen = {r.url_id for r in world.emulator.responses()}
    return all(any(u.rstrip("/").rsplit("/", 1)[-1] in seen for u in urls) for urls in groups)
