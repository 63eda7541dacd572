"""Authorisation: someone who is neither the incident's commander nor its reporter (nor on an
allowlist) tries every destructive command and button, and replays Confirm buttons another
person received. Each try is refused with an ephemeral, audited as a `denied` timeline event,
and changes nothing in Postgres or the cluster.

Who may do what (incident/permissions.py, bot/flows/operations/policy.py `decide`): severity,
commander and resolve belong to the commander, the reporter and the responders group (none is
set here); rollback, scale and restart to the commander and reporter. Acknowledge, updates, notes
and status changes short of resolving are open to everyone by design, so they are not tried.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from warroom_sandbox.fake_cluster.resources import DEPLOYMENTS

from tests.reliability.tally import Tally
from tests.reliability.world import NS, World

ANSWER_TIMEOUT_S = 15.0
REFUSAL_WORDS = ("Only ", "not allowed")


@dataclass
class Round:
    """One incident declared by alice and one Deployment, for one round of attempts."""

    number: int
    channel: str
    card_ts: str
    deployment: str
    attempts: int = 0
    denied_expected: int = 0


def _timed(tally: Tally, send: Callable[[], httpx.Response]) -> httpx.Response:
    started = time.perf_counter()
    resp = send()
    tally.ack_ms.append((time.perf_counter() - started) * 1000)
    return resp


def _wait(predicate: Callable[[], Any], timeout: float = ANSWER_TIMEOUT_S) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def _declare(world: World, title: str) -> dict[str, Any]:
    alice = world.people["alice"]
    general = world.emulator.channel_by_name("general").id
    world.drivers[0].command(f"declare SEV2 {title}", user_id=alice, channel_id=general)

    def ready() -> dict[str, Any] | None:
        rows = world.bed.rows("SELECT * FROM incidents WHERE title = :t", t=title)
        if rows and rows[0]["channel_id"] and rows[0]["card_ts"]:
            return rows[0]
        return None

    return world.bed.wait_for(ready, timeout=20)


def _deployment(world: World) -> str:
    """A Deployment at revision 2 (so a rollback has somewhere to go)."""
    name = f"authz-{secrets.token_hex(3)}"
    world.cluster.create_deployment(NS, name, "img:v1", replicas=3)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "img:v2"}]}}}}
    world.cluster.api.patch(DEPLOYMENTS, NS, name, "application/strategic-merge-patch+json", patch)
    return name


def _spec(world: World, name: str) -> dict[str, Any]:
    return copy.deepcopy(world.cluster.deployment(NS, name)["spec"])


def _writes(world: World, name: str) -> int:
    return sum(
        1
        for r in list(world.cluster.requests)
        if r.method in ("PATCH", "PUT", "POST", "DELETE") and f"/deployments/{name}" in r.path
    )


def _incident(world: World, number: int) -> dict[str, Any]:
    return world.bed.rows(
        "SELECT severity, status, commander_id, reporter_id, resolved_at, summary "
        "FROM incidents WHERE number = :n",
        n=number,
    )[0]


def _events(world: World, number: int) -> list[dict[str, Any]]:
    return world.bed.rows(
        "SELECT kind, actor, data FROM timeline_events WHERE incident_number = :n ORDER BY id",
        n=number,
    )


def _response_text(world: World, url: str) -> str:
    return "\n".join(r.text for r in world.emulator.responses(url))


def _confirm_value(blocks: list[dict[str, Any]] | None, action_id: str) -> str | None:
    for block in blocks or []:
        for el in block.get("elements") or []:
            if el.get("action_id") == action_id:
                return str(el["value"])
    return None


def _response_blocks(world: World, url: str, action_id: str) -> str | None:
    for r in world.emulator.responses(url):
        if value := _confirm_value(r.body.get("blocks"), action_id):
            return value
    return None


class Attempts:
    """What the outsider (erin) tries, each checked for an ephemeral refusal."""

    def __init__(self, world: World, tally: Tally, rnd: Round) -> None:
        self.w = world
        self.tally = tally
        self.rnd = rnd
        self.emu = world.emulator
        self.erin = world.people["erin"]
        self.alice = world.people["alice"]
        self.i = 0

    def driver(self) -> Any:
        self.i += 1
        return self.w.drivers[self.i % len(self.w.drivers)]

    def refused(self, what: str, text: str, *, denied: int = 1) -> None:
        self.rnd.attempts += 1
        self.rnd.denied_expected += denied
        if not any(word in text for word in REFUSAL_WORDS):
            self.tally.fail(f"{what}: not refused; told {text[:160]!r}")

    # -- slash commands ---------------------------------------------------------------

    def command(self, text: str, channel: str | None = None) -> None:
        channel = channel or self.rnd.channel
        url = self.emu.new_response_url(channel, self.erin)
        resp = _timed(
            self.tally,
            lambda: self.driver().command(
                text, user_id=self.erin, channel_id=channel, response_url=url
            ),
        )
        if resp.status_code != 200:
            self.tally.fail(f"/incident {text}: HTTP {resp.status_code}")
            return
        body = resp.json() if resp.content else {}
        answer = str(body.get("text") or "")
        if answer and body.get("response_type", "ephemeral") != "ephemeral":
            self.tally.fail(f"/incident {text}: the refusal was shown to the channel")
        if not answer:
            answer = _wait(lambda: _response_text(self.w, url)) or ""
        self.refused(f"/incident {text}", answer)

    # -- buttons on a message ------------------------------------------------------------

    def press(self, action_id: str, value: str, label: str) -> str:
        url = self.emu.new_response_url(self.rnd.channel, self.erin, self.rnd.card_ts)
        resp = _timed(
            self.tally,
            lambda: self.driver().block_action(
                action_id,
                value,
                user_id=self.erin,
                channel_id=self.rnd.channel,
                message_ts=self.rnd.card_ts,
                response_url=url,
            ),
        )
        if resp.status_code != 200:
            self.tally.fail(f"{label}: HTTP {resp.status_code}")
            return ""
        return url

    def press_refused(self, action_id: str, value: str, label: str, *, denied: int = 1) -> None:
        url = self.press(action_id, value, label)
        if not url:
            return
        answer = _wait(
            lambda: (
                any(w in _response_text(self.w, url) for w in REFUSAL_WORDS)
                and _response_text(self.w, url)
            )
        )
        self.refused(label, answer or _response_text(self.w, url), denied=denied)

    # -- modal submissions ---------------------------------------------------------------

    def _private(self, before: int) -> list[tuple[str, list[dict[str, Any]]]]:
        """(text, blocks) told to erin alone since call `before`: an ephemeral where she was,
        or a DM when she is not in that channel."""
        said = []
        for c in self.emu.calls()[before:]:
            to_erin = (c.method == "chat.postEphemeral" and c.args.get("user") == self.erin) or (
                c.method == "chat.postMessage" and c.args.get("channel") == self.erin
            )
            if to_erin and c.ok:
                blocks = c.args.get("blocks") or []
                if isinstance(blocks, str):
                    blocks = json.loads(blocks)
                said.append((str(c.args.get("text") or ""), blocks))
        return said

    def _told_erin(self, before: int) -> str:
        return "\n".join(text for text, _ in self._private(before))

    def submit_refused(self, callback_id: str, values: dict[str, Any], label: str) -> None:
        before = len(self.emu.calls())
        meta = json.dumps({"n": self.rnd.number, "c": self.rnd.channel})
        resp = _timed(
            self.tally,
            lambda: self.driver().view_submission(
                callback_id, values, user_id=self.erin, private_metadata=meta
            ),
        )
        if resp.status_code != 200:
            self.tally.fail(f"{label}: HTTP {resp.status_code}")
            return
        if resp.content and resp.json().get("response_action") == "errors":
            self.tally.fail(f"{label}: answered with form errors {resp.json()}")
            return
        answer = _wait(lambda: self._told_erin(before))
        self.refused(label, answer or "")

    # -- operations: plan (allowed to anyone), then Confirm (refused) --------------------

    def ops_command_then_confirm(self, text: str) -> None:
        url = self.emu.new_response_url(self.rnd.channel, self.erin)
        resp = _timed(
            self.tally,
            lambda: self.driver().command(
                text, user_id=self.erin, channel_id=self.rnd.channel, response_url=url
            ),
        )
        if resp.status_code != 200:
            self.tally.fail(f"/incident {text}: HTTP {resp.status_code}")
            return
        value = _wait(lambda: _response_blocks(self.w, url, "ops_confirm"))
        if value is None:
            self.tally.fail(f"/incident {text}: no plan; told {_response_text(self.w, url)!r}")
            return
        self.press_refused("ops_confirm", value, f"Confirm of /incident {text}")

    def ops_card_button(self, action_id: str, callback_id: str, values: dict[str, Any]) -> None:
        opened = {v.id for v in self.emu.views(self.erin)}
        label = f"card button {action_id}"
        if not self.press(action_id, str(self.rnd.number), label):
            return
        view = _wait(lambda: [v for v in self.emu.views(self.erin) if v.id not in opened])
        if not view:
            self.tally.fail(f"{label}: no modal opened")
            return
        before = len(self.emu.calls())
        resp = _timed(
            self.tally,
            lambda: self.driver().view_submission(
                callback_id, values, user_id=self.erin, view_id=view[0].id
            ),
        )
        if resp.status_code != 200 or (resp.content and resp.json().get("errors")):
            self.tally.fail(f"{label}: submission answered {resp.status_code} {resp.text[:120]}")
            return

        def plan() -> str | None:
            for _, blocks in self._private(before):
                if value := _confirm_value(blocks, "ops_confirm"):
                    return value
            return None

        value = _wait(plan)
        if value is None:
            self.tally.fail(f"{label}: no plan; told {self._told_erin(before)[:160]!r}")
            return
        self.press_refused("ops_confirm", value, f"Confirm after {label}")


def _check_round(
    world: World,
    tally: Tally,
    rnd: Round,
    incident_before: dict[str, Any],
    spec_before: dict[str, Any],
    writes_before: int,
) -> None:
    erin = world.people["erin"]

    def denied() -> list[dict[str, Any]]:
        return [e for e in _events(world, rnd.number) if e["kind"] == "denied"]

    _wait(lambda: len(denied()) >= rnd.denied_expected, timeout=10)
    time.sleep(0.3)  # a late duplicate would show now
    audited = denied()
    if len(audited) < rnd.denied_expected:
        tally.lost += rnd.denied_expected - len(audited)
        tally.notes.append(
            f"#{rnd.number}: {len(audited)} denied events for {rnd.denied_expected} refusals: "
            f"{[e['data'].get('what') for e in audited]}"
        )
    elif len(audited) > rnd.denied_expected:
        tally.duplicates += len(audited) - rnd.denied_expected
        tally.notes.append(f"#{rnd.number}: {len(audited)} denied events")
    if any(e["actor"] != erin for e in audited):
        tally.fail(f"#{rnd.number}: a denied event names someone else: {audited}")
    changes = [
        e["kind"]
        for e in _events(world, rnd.number)
        if e["actor"] == erin and e["kind"] != "denied"
    ]
    if changes:
        tally.fail(f"#{rnd.number}: the outsider changed the incident: {changes}")
    after = _incident(world, rnd.number)
    if after != incident_before:
        tally.fail(f"#{rnd.number}: incident changed: {incident_before} -> {after}")
    if _spec(world, rnd.deployment) != spec_before:
        tally.fail(f"{rnd.deployment}: the Deployment changed")
    if _writes(world, rnd.deployment) != writes_before:
        tally.fail(f"{rnd.deployment}: the cluster was written to")
    public = [
        m.text
        for m in world.emulator.messages(rnd.channel)
        if any(word in m.text for word in REFUSAL_WORDS)
    ]
    if public:
        tally.fail(f"#{rnd.number}: a refusal was posted in the channel: {public[:2]}")


def _control(world: World, tally: Tally, rnd: Round) -> None:
    """The commander can do what was refused: the checks above could have failed."""
    alice = world.people["alice"]
    resp = world.drivers[0].command("sev SEV1", user_id=alice, channel_id=rnd.channel)
    if "SEV1" not in resp.text:
        tally.fail(f"control: the commander could not change the severity: {resp.text[:120]}")
    if not _wait(lambda: _incident(world, rnd.number)["severity"] == "SEV1", timeout=10):
        tally.fail("control: severity did not change for the commander")


def scenario_outsider_refused(world: World, trials: int = 1) -> Tally:
    """`trials` rounds; each declares an incident (alice) and has erin try everything."""
    tally = Tally("outsider tries every destructive command and button")
    for r in range(trials):
        inc = _declare(world, f"authorisation round {r} {secrets.token_hex(2)}")
        rnd = Round(int(inc["number"]), inc["channel_id"], inc["card_ts"], _deployment(world))
        time.sleep(0.5)  # the declaration's last Slack steps
        incident_before = _incident(world, rnd.number)
        spec_before = _spec(world, rnd.deployment)
        writes_before = _writes(world, rnd.deployment)
        general = world.emulator.channel_by_name("general").id
        erin = world.people["erin"]
        a = Attempts(world, tally, rnd)

        # slash commands, in the channel and by number from elsewhere
        a.command("resolve it was nothing")
        a.command("status resolved")
        a.command("sev SEV1")
        a.command("severity SEV4")
        a.command(f"ic <@{erin}>")
        a.command(f"sev {rnd.number} SEV1", channel=general)
        a.command(f"resolve {rnd.number} closing it from here", channel=general)

        # the card's buttons
        n = str(rnd.number)
        a.press_refused("incident_severity", n, "card button Change severity")
        a.press_refused("incident_commander", n, "card button Assign commander")
        a.press_refused("incident_resolve", n, "card button Resolve")

        # the modals behind them, submitted directly (a forged or stale form)
        sev = {
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV1"}}}
        }
        ic = {"commander": {"value": {"type": "users_select", "selected_user": erin}}}
        summary = {"summary": {"value": "resolved by someone else"}}
        a.submit_refused("incident_severity_view", sev, "Change severity form")
        a.submit_refused("incident_commander_view", ic, "Assign commander form")
        a.submit_refused("incident_resolve_view", summary, "Resolve form")

        # operations: anyone may look at a plan; Confirm is refused
        dep = rnd.deployment
        a.ops_command_then_confirm(f"rollback {dep} -n {NS}")
        a.ops_command_then_confirm(f"scale {dep} 7 -n {NS}")
        a.ops_command_then_confirm(f"restart {dep} -n {NS}")
        a.ops_card_button(
            "incident_ops_rollback", "ops_rollback_view", {"target": {"value": f"{NS}/{dep}"}}
        )
        a.ops_card_button(
            "incident_ops_scale",
            "ops_scale_view",
            {"target": {"value": f"{NS}/{dep}"}, "replicas": {"value": "9"}},
        )

        tally.trials += rnd.attempts
        _check_round(world, tally, rnd, incident_before, spec_before, writes_before)
        _control(world, tally, rnd)
    return tally


def scenario_replayed_confirm(world: World, trials: int = 1) -> Tally:
    """The commander's own Confirm buttons (resolve, rollback, scale, restart) sent again
    with the outsider's user id: refused and audited; then the commander's press works."""
    tally = Tally("outsider replays the commander's Confirm buttons")
    alice, erin = world.people["alice"], world.people["erin"]
    for r in range(trials):
        inc = _declare(world, f"replay round {r} {secrets.token_hex(2)}")
        rnd = Round(int(inc["number"]), inc["channel_id"], inc["card_ts"], _deployment(world))
        time.sleep(0.5)
        incident_before = _incident(world, rnd.number)
        spec_before = _spec(world, rnd.deployment)
        writes_before = _writes(world, rnd.deployment)
        a = Attempts(world, tally, rnd)
        drv = world.drivers[0]

        # resolve: the commander's confirmation, pressed by erin
        resp = drv.command("resolve replayed summary", user_id=alice, channel_id=rnd.channel)
        value = _confirm_value(resp.json().get("blocks"), "incident_resolve_confirm")
        if value is None:
            tally.fail(f"the commander got no resolve confirmation: {resp.text[:160]}")
        else:
            a.press_refused("incident_resolve_confirm", value, "replayed resolve Confirm")

        # operations: the commander's plans, confirmed by erin
        values: dict[str, str] = {}
        for text in (
            f"rollback {rnd.deployment} -n {NS}",
            f"scale {rnd.deployment} 5 -n {NS}",
            f"restart {rnd.deployment} -n {NS}",
        ):
            url = world.emulator.new_response_url(rnd.channel, alice)
            drv.command(text, user_id=alice, channel_id=rnd.channel, response_url=url)
            plan = _wait(lambda url=url: _response_blocks(world, url, "ops_confirm"))
            if plan is None:
                tally.fail(f"the commander got no plan for {text}: {_response_text(world, url)!r}")
                continue
            values[text.split()[0]] = plan
            a.press_refused("ops_confirm", plan, f"replayed Confirm of {text}")
            # and again, as if Slack retried erin's press: still refused, audited again
            a.press_refused("ops_confirm", plan, f"second replay of {text}")

        tally.trials += a.rnd.attempts
        _check_round(world, tally, rnd, incident_before, spec_before, writes_before)

        # control: the commander's own press of the same rollback Confirm works
        if "rollback" in values:
            url = world.emulator.new_response_url(rnd.channel, alice, rnd.card_ts)
            world.drivers[1].block_action(
                "ops_confirm",
                values["rollback"],
                user_id=alice,
                channel_id=rnd.channel,
                response_url=url,
            )

            def image() -> str:
                spec = world.cluster.deployment(NS, rnd.deployment)["spec"]
                return spec["template"]["spec"]["containers"][0]["image"]

            if not _wait(lambda: image() == "img:v1", timeout=20):
                tally.fail(f"control: the commander's rollback did not happen ({image()})")
        if any(e["actor"] == erin and e["kind"] == "action" for e in _events(world, rnd.number)):
            tally.fail("an action event names the outsider")
    return tally


# -- the tests -----------------------------------------------------------------------------


def test_an_outsider_is_refused_everything_and_audited(w: World) -> None:
    tally = scenario_outsider_refused(w, 1)
    assert tally.clean, tally.summary()
    assert tally.trials == 18, tally.summary()
    kinds = [
        e["data"].get("what")
        for e in w.bed.rows("SELECT data FROM timeline_events WHERE kind = 'denied'")
    ]
    assert {"severity", "commander", "resolve"} <= set(kinds), kinds
    assert any(str(k).startswith("rollback ") for k in kinds), kinds
    assert any(str(k).startswith("scale ") for k in kinds), kinds
    assert any(str(k).startswith("restart ") for k in kinds), kinds


def test_a_replayed_confirm_is_refused_and_audited(w: World) -> None:
    tally = scenario_replayed_confirm(w, 1)
    assert tally.clean, tally.summary()
    assert tally.trials == 7, tally.summary()
