"""Post-mortems from Postgres: every field and duration of a scripted incident, human edits
surviving regeneration, Markdown and JSON, delivery to Slack and S3 (moto over HTTP), review
reminders, the `/incident action|cause|postmortem` subcommands, and generation speed."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from moto.server import ThreadedMotoServer
from sqlalchemy import MetaData, create_engine, select

from bot.adapters.db import normalise_url
from bot.flows.postmortem.delivery import due_review_reminders, on_resolved
from bot.flows.postmortem.links import link_signer
from bot.services import Services
from handlers import postmortem as pm_handlers
from handlers.subcommands import CommandCall
from incident import action_items, postmortem, registry, review, timeline
from incident import event_kinds as K
from incident.models import Base, PostmortemRecord, TimelineEvent
from incident.models import postmortem as postmortem_models
from incident.postmortem_render import to_dict, to_markdown
from incident.postmortem_sections import SectionConflict, save_section
from tests.e2e.postmortem_support import (
    DBA,
    IC,
    IC2,
    NAMES,
    REPORTER,
    SRE,
    T0,
    FakeSlack,
    LoopThread,
    Scripted,
    at,
    big_incident,
    embedded_postgres,
    make_services,
    script_incident,
)

BUCKET = "warroom-postmortems"


@pytest.fixture(scope="session")
def loop() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.stop()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with embedded_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    saved["AWS_DEFAULT_REGION"] = os.environ.get("AWS_DEFAULT_REGION")
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def services(loop: LoopThread, pg_url: str) -> Iterator[Services]:
    s = make_services(pg_url)
    yield s
    loop.run(s.engine.dispose())


@pytest.fixture(scope="session")
def scripted(loop: LoopThread, services: Services) -> Scripted:
    async def go() -> Scripted:
        async with services.transaction() as session:
            return await script_incident(session, key="domain-main")

    return loop.run(go())


def build(loop: LoopThread, services: Services, number: int) -> postmortem.PostMortem:
    async def go() -> postmortem.PostMortem:
        async with services.sessions() as session:
            pm = await postmortem.build(session, number, now=at(200), policy=services.policy)
        assert pm is not None
        return pm

    return loop.run(go())


def new_incident(loop: LoopThread, services: Services, key: str, **kw: Any) -> Scripted:
    async def go() -> Scripted:
        async with services.transaction() as session:
            return await script_incident(session, key=key, **kw)

    return loop.run(go())


# --- pure rules ---------------------------------------------------------------------------


def test_review_due_is_five_business_days_later_and_reminded_a_day_before() -> None:
    friday = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    assert review.review_due(friday) == datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
    wednesday = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)
    assert review.review_due(wednesday) == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    saturday = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # counts from Monday: due Friday
    assert review.review_due(saturday) == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    due = review.review_due(friday)
    assert review.reminder_at(due) == due - timedelta(hours=24)


@pytest.mark.parametrize(
    ("args", "text", "owner"),
    [
        ("Add pool alerts <@U123|ana>", "Add pool alerts", "U123"),
        ("Add pool alerts <@U123>", "Add pool alerts", "U123"),
        ("Ask <@U9> about limits", "Ask <@U9> about limits", None),
        ("  Raise the pool size  ", "Raise the pool size", None),
    ],
)
def test_action_text_and_owner(args: str, text: str, owner: str | None) -> None:
    assert action_items.parse_action(args) == (text, owner)


# --- the document -------------------------------------------------------------------------


def test_every_field_and_duration_is_exact(
    loop: LoopThread, services: Services, scripted: Scripted
) -> None:
    pm = build(loop, services, scripted.number)
    assert (pm.number, pm.title, pm.status) == (scripted.number, scripted.title, "resolved")
    assert (pm.severity, pm.initial_severity, pm.peak_severity) == ("SEV2", "SEV3", "SEV2")
    assert [(c.at, c.before, c.after, c.actor) for c in pm.severity_changes] == [
        (at(6), "SEV3", "SEV2", IC)
    ]
    assert pm.impact == "5% of checkouts fail"
    assert (pm.commander_id, pm.reporter_id) == (IC2, REPORTER)
    assert [(c.before, c.after) for c in pm.commander_changes] == [(IC, IC2)]
    assert (pm.declared_at, pm.acknowledged_at, pm.mitigated_at, pm.resolved_at) == (
        T0,
        at(4),
        at(22),
        at(90),
    )
    d = pm.durations
    assert (d.tta, d.ttm, d.ttr) == (
        scripted.expected["tta"],
        scripted.expected["ttm"],
        scripted.expected["ttr"],
    )
    assert pm.review_due_at == scripted.expected["review_due"]
    assert pm.review_reminder_at == scripted.expected["review_due"] - timedelta(hours=24)
    # Targets from the default policy: SEV3 ack 1 h (declared), SEV2 updates every 30 min.
    assert pm.ack_target == timedelta(hours=1)
    assert pm.longest_update_gap == at(90) - at(23)
    # The current commander first, then the former one, then by first appearance.
    people = [(p.user_id, p.roles) for p in pm.participants]
    assert people == [
        (IC2, ["commander"]),
        (IC, ["commander"]),
        (REPORTER, ["reporter"]),
        (SRE, ["responder"]),
        (DBA, ["responder"]),
    ]
    sre = next(p for p in pm.participants if p.user_id == SRE)
    assert sre.contributions == {"checks": 1, "notes": 1, "actions": 1}  # joining is not a deed
    ivan = next(p for p in pm.participants if p.user_id == IC)
    assert ivan.contributions["approvals"] == 1 and ivan.contributions["updates"] == 2


def test_timeline_is_ordered_and_tells_the_story(
    loop: LoopThread, services: Services, scripted: Scripted
) -> None:
    pm = build(loop, services, scripted.number)
    kinds = [e.kind for e in pm.timeline]
    assert kinds == [
        K.DECLARED,
        K.ACKNOWLEDGED,
        K.SEVERITY,
        K.UPDATE,
        K.CHECK,
        K.NOTE,
        K.PINNED,
        K.STATUS,
        K.ACTION,
        K.STATUS,
        K.UPDATE,
        K.NOTE,
        K.COMMANDER,
        K.RESOLVED,
    ]  # no setup, participant, reminder, nor the withdrawn update
    assert [e.at for e in pm.timeline] == sorted(e.at for e in pm.timeline)
    text = {e.kind: e.text for e in pm.timeline}
    assert text[K.CHECK] == (
        "Checks: api http ❌ 503 from /health · api postgres ✅ select 1 in 3 ms"
    )
    assert text[K.ACTION] == (
        f"Action set_image prod/shop/api: shop-api:1.42 → shop-api:1.41 (ok), approved by <@{IC}>"
    )
    assert text[K.PINNED] == f"📌 p95 jumped at 08:58 (pinned by <@{IC}>)"
    assert text[K.SEVERITY] == "Severity SEV3 → SEV2"
    assert "A withdrawn mistake" not in " ".join(e.text for e in pm.timeline)
    assert [s for _, s in pm.status_history] == [
        "investigating",
        "identified",
        "mitigating",
        "monitoring",
        "resolved",
    ]


def test_sections_are_prefilled_from_the_timeline(
    loop: LoopThread, services: Services, scripted: Scripted
) -> None:
    pm = build(loop, services, scripted.number)
    assert [s.key for s in pm.sections] == [
        "summary",
        "impact",
        "root_cause",
        "contributing_factors",
        "went_well",
        "went_badly",
    ]
    assert all(s.generated for s in pm.sections)
    assert pm.section("summary").body == scripted.expected["summary"]
    root = pm.section("root_cause").body
    assert scripted.expected["cause"] in root and "Customers notified" not in root
    assert "Acknowledged in 4m" in pm.section("went_well").body
    assert "Longest silence between updates: 1h 07m" in pm.section("went_badly").body


def test_ttm_is_the_earliest_of_status_and_mitigated_at(
    loop: LoopThread, services: Services
) -> None:
    s = new_incident(loop, services, "ttm-earliest")

    async def earlier_mitigation() -> None:
        async with services.transaction() as session:
            inc = await registry.get(session, s.number)
            assert inc is not None
            inc.mitigated_at = at(18)

    loop.run(earlier_mitigation())
    assert build(loop, services, s.number).durations.ttm == timedelta(minutes=18)


def test_human_edits_survive_regeneration(loop: LoopThread, services: Services) -> None:
    s = new_incident(loop, services, "edits")

    async def edit() -> None:
        async with services.transaction() as session:
            await save_section(
                session,
                s.number,
                "root_cause",
                "Pool size 10 was too small",
                editor=IC,
                now=at(300),
            )
            await save_section(
                session, s.number, "went_well", "Fast rollback", editor=SRE, now=at(301)
            )
            # A later event that changes the generated draft.
            await timeline.record(
                session,
                s.number,
                K.NOTE,
                at=at(95),
                actor=DBA,
                text="Maybe the load balancer",
                data={"cause_candidate": True},
            )

    loop.run(edit())
    for _ in range(2):  # regenerate twice: nothing human is lost
        pm = build(loop, services, s.number)
        root = pm.section("root_cause")
        assert (root.body, root.edited_by, root.edited_at, root.generated) == (
            "Pool size 10 was too small",
            IC,
            at(300),
            False,
        )
        assert pm.section("went_well").body == "Fast rollback"
        assert pm.section("summary").generated  # untouched sections stay drafts

    async def stale_then_clear() -> None:
        async with services.transaction() as session:
            with pytest.raises(SectionConflict):
                await save_section(
                    session,
                    s.number,
                    "root_cause",
                    "Overwrite from a stale page",
                    editor=DBA,
                    now=at(302),
                    check_version=True,
                    expected_version=None,
                )
        async with services.transaction() as session:
            await save_section(session, s.number, "went_well", "   ", editor=SRE, now=at(303))

    loop.run(stale_then_clear())
    pm = build(loop, services, s.number)
    assert pm.section("root_cause").body == "Pool size 10 was too small"
    assert pm.section("went_well").generated  # a blank save brings the draft back


def test_markdown_and_json(loop: LoopThread, services: Services) -> None:
    s = new_incident(loop, services, "render", title="<script>alert(1)</script> | pipes & co")

    async def item() -> None:
        async with services.transaction() as session:
            await action_items.add(
                session,
                s.number,
                "Alert on pool saturation",
                owner_id=SRE,
                created_by=IC,
                now=at(95),
            )
            await action_items.add(
                session, s.number, "Load-test <b>1.43</b>", owner_id=None, created_by=IC, now=at(96)
            )

    loop.run(item())
    pm = build(loop, services, s.number)
    md = to_markdown(pm, NAMES)
    title = "&lt;script&gt;alert(1)&lt;/script&gt; | pipes &amp; co"
    assert md.startswith(f"# Post-mortem: incident #{s.number} — {title}")
    assert "<script>" not in md and "<b>" not in md
    for line in (
        "| Severity | SEV2 (SEV3 → SEV2) |",
        "| Acknowledged | 2026-11-20 09:04 UTC (TTA 4m) |",
        "| Mitigated | 2026-11-20 09:22 UTC (TTM 22m) |",
        "| Resolved | 2026-11-20 10:30 UTC (TTR 1h 30m) |",
        "| Review due | 2026-11-27 10:30 UTC (five business days) |",
        "- [ ] Alert on pool saturation — owner @sam (added by @ivan, 2026-11-20 10:35 UTC)",
        "- [ ] Load-test &lt;b&gt;1.43&lt;/b&gt; — owner **no owner** (added by @ivan, "
        "2026-11-20 10:36 UTC)",
        "- `09:20:00` · @sam · Action set_image prod/shop/api: shop-api:1.42 → shop-api:1.41 "
        "(ok), approved by @ivan",
        "- @sam (responder): 1 check, 1 note, 1 action",
        "| Commander | @ines (since 2026-11-20 09:40 UTC; before: @ivan) |",
        "## Root cause",
    ):
        assert line in md, line
    doc = json.loads(json.dumps(to_dict(pm, NAMES)))
    assert doc["title"] == "<script>alert(1)</script> | pipes & co"  # raw: escaping is per format
    assert doc["durations"]["tta"] == {"seconds": 240, "text": "4m"}
    assert doc["durations"]["ttm"]["seconds"] == 22 * 60
    assert doc["durations"]["ttr"]["seconds"] == 90 * 60
    assert doc["severity"] == {
        "current": "SEV2",
        "initial": "SEV3",
        "peak": "SEV2",
        "changes": [{"at": at(6).isoformat(), "actor": IC, "before": "SEV3", "after": "SEV2"}],
    }
    assert doc["times"]["resolved_at"] == "2026-11-20T10:30:00+00:00"
    assert doc["review"]["due_at"] == "2026-11-27T10:30:00+00:00"
    assert [i["owner"] for i in doc["action_items"]] == [SRE, None]
    kinds = [e["kind"] for e in doc["timeline"]]
    assert kinds[0] == "declared" and kinds[-2:] == ["action_item", "action_item"]
    assert len(kinds) == 16  # the story's 14 and the two items just added
    assert doc["names"][SRE] == "sam"


def test_pins_captured_before_decoding_read_as_written(
    loop: LoopThread, services: Services
) -> None:
    """Rows stored before capture decoded Slack's text hold it escaped: decoded once when
    rendered. Rows marked as decoded are never decoded a second time."""
    s = new_incident(loop, services, "old-pins")
    pin = {"channel": "C1", "ts": "1.3", "pinned_by": IC}

    async def pins() -> None:
        async with services.transaction() as session:
            old = f"error rate &lt; 1% &amp; falling, ask <@{SRE}> in <#C9|ops> &amp;lt;sic&amp;gt;"
            await timeline.record(session, s.number, K.PINNED, at=at(97), text=old, data=pin)
            new = "typed &lt;b&gt; literally"  # already decoded at capture
            data = {**pin, "ts": "1.4", "text_format": "plain"}
            await timeline.record(session, s.number, K.PINNED, at=at(98), text=new, data=data)

    loop.run(pins())
    pm = build(loop, services, s.number)
    md = to_markdown(pm, NAMES)
    assert "📌 error rate &lt; 1% &amp; falling, ask @sam in #ops &amp;lt;sic&amp;gt;" in md
    assert "📌 typed &amp;lt;b&amp;gt; literally" in md
    doc = to_dict(pm, NAMES)
    texts = [e["text"] for e in doc["timeline"] if e["kind"] == K.PINNED][-2:]
    assert texts == [
        f"📌 error rate < 1% & falling, ask <@{SRE}> in #ops &lt;sic&gt; (pinned by <@{IC}>)",
        f"📌 typed &lt;b&gt; literally (pinned by <@{IC}>)",
    ]


# --- delivery, archive, reminders --------------------------------------------------------


def test_on_resolved_posts_once_archives_and_schedules_review(
    loop: LoopThread, pg_url: str, s3_endpoint: str
) -> None:
    slack = FakeSlack()
    settings = {
        "postmortem_s3_bucket": BUCKET,
        "postmortem_s3_prefix": "pm/",
        "s3_endpoint_url": s3_endpoint,
    }
    services = make_services(pg_url, slack=slack, settings=settings)
    try:
        s = new_incident(loop, services, "deliver")
        first = loop.run(on_resolved(services, s.number))
        assert first is not None and first.errors == {}
        assert [p["channel"] for p in slack.posts] == [f"CINC{s.number}", slack.incidents_id]
        assert slack.joined == {slack.incidents_id}  # joined #incidents when refused
        text = slack.posts[0]["text"]
        assert f"incident #{s.number}" in text and "TTA *4m* · TTM *22m* · TTR *1h 30m*" in text
        assert f"<{first.link}|Read the full post-mortem>" in text
        grant = link_signer(services).verify(first.link.split("t=")[1])
        assert grant.scope == str(s.number)
        assert first.archived is not None
        assert first.archived.keys == [
            f"pm/incident-{s.number}/postmortem.md",
            f"pm/incident-{s.number}/postmortem.json",
        ]
        s3 = boto3.client("s3", endpoint_url=s3_endpoint)
        md = s3.get_object(Bucket=BUCKET, Key=first.archived.keys[0])["Body"].read().decode()
        assert md.startswith(f"# Post-mortem: incident #{s.number}")
        doc = json.loads(s3.get_object(Bucket=BUCKET, Key=first.archived.keys[1])["Body"].read())
        assert doc["durations"]["ttr"]["seconds"] == 5400

        again = loop.run(on_resolved(services, s.number))  # a retry posts nothing new
        assert again is not None and len(slack.posts) == 2
        assert (again.channel_ts, again.announce_ts) == (first.channel_ts, first.announce_ts)

        async def record() -> PostmortemRecord:
            async with services.sessions() as session:
                return await session.get_one(PostmortemRecord, s.number)

        row = loop.run(record())
        assert row.review_due_at == datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
        assert row.remind_at == datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
        assert row.stats == {
            "tta_s": 240,
            "ttm_s": 1320,
            "ttr_s": 5400,
            "events": row.stats["events"],
            "severity": "SEV2",
        }

        # The reminder: not before its time, once at it, never twice.
        assert loop.run(due_review_reminders(services, row.remind_at - timedelta(minutes=1))) == []
        sent = loop.run(due_review_reminders(services, row.remind_at))
        assert [(r.number, r.commander_id, r.sent) for r in sent] == [(s.number, IC2, True)]
        dm = slack.posts[-1]
        assert dm["channel"] == IC2 and "is due 2026-11-27 10:30 UTC" in dm["text"]
        assert loop.run(due_review_reminders(services, row.remind_at + timedelta(hours=1))) == []
    finally:
        loop.run(services.engine.dispose())


def test_delivery_reports_slack_and_s3_trouble_without_raising(
    loop: LoopThread, pg_url: str
) -> None:
    slack = FakeSlack()
    settings = {
        "postmortem_s3_bucket": "no-such-bucket",
        "s3_endpoint_url": "http://127.0.0.1:9",  # nothing listens there
    }
    services = make_services(pg_url, slack=slack, settings=settings)
    try:
        s = new_incident(loop, services, "deliver-trouble")
        slack.fail_channels.add(f"CINC{s.number}")
        out = loop.run(on_resolved(services, s.number), timeout=120)
        assert out is not None
        assert out.errors.keys() == {"channel", "archive"}
        assert out.announce_ts is not None and out.channel_ts is None
        slack.fail_channels.clear()
        services.settings = services.settings.model_copy(
            update={"postmortem_s3_bucket": None}  # no archive this time
        )
        retry = loop.run(on_resolved(services, s.number))
        assert retry is not None and retry.errors == {} and retry.channel_ts is not None
        assert [p["channel"] for p in slack.posts].count(slack.incidents_id) == 1
    finally:
        loop.run(services.engine.dispose())


# --- subcommands ----------------------------------------------------------------------------


class Acks:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, *args: Any, **kw: Any) -> None:
        self.calls.append(kw)


def run_command(
    loop: LoopThread, services: Services, name: str, args: str, *, channel: str, user: str, n: int
) -> Acks:
    acks = Acks()
    body = {
        "user_id": user,
        "channel_id": channel,
        "trigger_id": f"trig-{name}-{n}",
        "team_id": "T1",
    }
    call = CommandCall(name, args, body, acks, acks, services)
    handler = {
        "action": pm_handlers.action_command,
        "cause": pm_handlers.cause_command,
        "postmortem": pm_handlers.postmortem_command,
    }[name]
    loop.run(handler(call))
    return acks


def test_action_cause_and_postmortem_subcommands(loop: LoopThread, services: Services) -> None:
    s = new_incident(loop, services, "commands")
    channel = f"CINC{s.number}"
    acks = run_command(
        loop,
        services,
        "action",
        "Alert on pool saturation <@USRE|sam>",
        channel=channel,
        user=IC,
        n=1,
    )
    assert (
        "owner <@USRE>" in acks.calls[0]["text"] and acks.calls[0]["response_type"] == "in_channel"
    )
    # Typed as plain text (commands arrive unescaped): the handle is looked up.
    run_command(
        loop, services, "action", "Raise the pool size @dora", channel=channel, user=IC, n=2
    )
    # From elsewhere, by number; the same delivery twice records one item.
    for _ in range(2):
        run_command(
            loop,
            services,
            "action",
            f"{s.number} Write the runbook",
            channel="CELSE",
            user=SRE,
            n=3,
        )
    run_command(
        loop, services, "cause", "Pool of 10 under a 3x load", channel=channel, user=DBA, n=4
    )
    pm = build(loop, services, s.number)
    assert [(i.text, i.owner_id, i.created_by) for i in pm.action_items] == [
        ("Alert on pool saturation", SRE, IC),
        ("Raise the pool size", DBA, IC),
        ("Write the runbook", None, SRE),
    ]
    assert "Pool of 10 under a 3x load" in pm.section("root_cause").body

    async def events() -> list[str]:
        async with services.sessions() as session:
            rows = await session.scalars(
                select(TimelineEvent.kind).where(
                    TimelineEvent.incident_number == s.number, TimelineEvent.kind == K.ACTION_ITEM
                )
            )
            return list(rows)

    assert len(loop.run(events())) == 3

    acks = run_command(loop, services, "postmortem", "", channel=channel, user=SRE, n=5)
    reply = acks.calls[0]
    assert reply["response_type"] == "ephemeral"
    assert f"Post-mortem: incident #{s.number}" in reply["text"]
    assert (
        "Read the full post-mortem" in reply["text"]
        and "3 action items (1 without an owner)" in reply["text"]
    )
    token = reply["text"].split("?t=")[1].split("|")[0]
    grant = link_signer(services).verify(token)
    assert (grant.scope, grant.user) == (str(s.number), SRE)
    acks = run_command(loop, services, "postmortem", "all", channel=channel, user=SRE, n=6)
    assert (
        link_signer(services).verify(acks.calls[0]["text"].split("?t=")[1].split("|")[0]).scope
        == "*"
    )


# --- size ----------------------------------------------------------------------------------


def test_ten_thousand_events_all_reach_the_document(loop: LoopThread, services: Services) -> None:
    """Speed is measured by bench/postmortem.py, not asserted here; this checks nothing is
    dropped or reordered at size."""

    async def make() -> int:
        async with services.transaction() as session:
            return await big_incident(session, 10_000, key="speed-10k")

    number = loop.run(make())
    pm = build(loop, services, number)
    assert pm.event_count == 10_000
    times = [entry.at for entry in pm.timeline]
    assert times == sorted(times)


# --- schema ----------------------------------------------------------------------------------


def test_migration_0002_matches_the_models(pg_url: str) -> None:
    """The hand-written migration creates exactly what the models declare."""
    ours = MetaData()
    for table in (
        postmortem_models.PostmortemSection.__table__,
        postmortem_models.ActionItem.__table__,
        postmortem_models.PostmortemRecord.__table__,
        Base.metadata.tables["incidents"],  # the foreign keys' target
    ):
        table.to_metadata(ours)

    def only_ours(name: str | None, kind: str, _: Any) -> bool:
        return kind != "table" or name in ours.tables

    engine = create_engine(normalise_url(pg_url))
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_name": only_ours})
            assert compare_metadata(ctx, ours) == []
    finally:
        engine.dispose()
