"""Every Block Kit builder, fed the most hostile input a user or a catalog can produce, gives
payloads real Slack accepts. The limits are the emulator's (`warroom_sandbox`), so one
definition of them exists. No processes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from warroom_sandbox.slack_emulator.blockkit import (
    check_message_blocks,
    check_message_text,
    check_view,
)

from bot.slack.ui import blocks as ui_blocks
from bot.slack.ui import card_modals, incident_text
from bot.slack.ui import operations as ui_ops
from incident import card
from incident.escaping import escape_mrkdwn
from incident.models import Incident, Status, TimelineEvent
from incident.text_limits import NOTE, clip_mrkdwn, clip_plain

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
# escaping makes `&<>` 4-5 characters; emoji with joiners and a raw mention-lookalike
HOSTILE_UNIT = "&<>🔥👩‍💻 <!channel> <@U123> "
HOSTILE = (HOSTILE_UNIT * 200)[:3000]
LONG_USER = "U" + "X" * 31


def _incident(status: str = Status.INVESTIGATING.value, number: int = 123456) -> Incident:
    return Incident(
        number=number,
        title=HOSTILE,
        severity="SEV1",
        status=status,
        impact=HOSTILE,
        summary=HOSTILE,
        commander_id=LONG_USER,
        reporter_id=LONG_USER,
        channel_id="C" + "Y" * 31,
        declared_at=T0,
    )


UPDATES = [card.CardUpdate(T0 + timedelta(minutes=i), HOSTILE) for i in range(200)]


def _message(text: str | None, blocks: list[dict[str, Any]] | None) -> None:
    """Raises (as the emulator answers) when Slack would refuse this message."""
    check_message_text(text)
    check_message_blocks(blocks)


@pytest.mark.parametrize("status", [Status.INVESTIGATING.value, Status.RESOLVED.value])
@pytest.mark.parametrize("count", [0, 1, 5, 200])
def test_card_fits(status: str, count: int) -> None:
    inc = _incident(status)
    updates = UPDATES[:count]
    _message(card.card_text(inc, updates), ui_blocks.card_blocks(inc, updates))


def test_card_says_what_it_left_out() -> None:
    inc = _incident()
    text = card.card_text(inc, UPDATES)
    assert "earlier updates in the timeline" in text
    assert NOTE in dict(card.card_fields(inc, UPDATES))["Impact"]
    updates = dict(card.card_fields(inc, UPDATES))[card.UPDATES]
    assert updates.count("\n• ") >= 1  # the newest updates are still shown
    assert len(card.topic(inc)) <= 250


def test_modals_fit() -> None:
    inc = _incident()
    check_view(
        ui_blocks.declare_modal(
            default_severity="SEV2", commander=LONG_USER, origin_channel="C1", title=HOSTILE
        )
    )
    for build in (
        card_modals.update_modal,
        card_modals.severity_modal,
        card_modals.commander_modal,
        card_modals.resolve_modal,
    ):
        check_view(build(inc, "C" + "Z" * 31))


@pytest.mark.parametrize(
    ("names", "kind"),
    [
        ([], None),
        (["checkout"], "static_select"),
        ([f"svc-{i:03d}-" + "x" * 60 for i in range(100)], "static_select"),
        ([f"svc-{i:03d}-" + "x" * 60 for i in range(101)], "plain_text_input"),
        ([f"s{i:03d}" + "y" * 196 for i in range(150)], "plain_text_input"),
        (["a" * 151, "b"], "plain_text_input"),  # too long for an option's value
    ],
)
def test_declare_modal_service_field_fits(names: list[str], kind: str | None) -> None:
    """The Service field with whatever the catalog holds: a menu while Slack's menu holds
    every name (100 options, a value of 150), else a box to type it; no services, no field.
    Options are sorted and name the service exactly (never a shortened value)."""
    view = ui_blocks.declare_modal(
        default_severity="SEV2",
        commander=LONG_USER,
        origin_channel="C1",
        title=HOSTILE,
        service_names=list(reversed(names)),
    )
    check_view(view)
    found = [b for b in view["blocks"] if b.get("block_id") == "service"]
    if kind is None:
        assert found == []
        return
    (block,) = found
    assert block["optional"] is True and block["element"]["type"] == kind
    assert block["element"]["action_id"] == "value"
    if kind == "static_select":
        assert [o["value"] for o in block["element"]["options"]] == sorted(names)


def _choices(n: int, label: str = HOSTILE) -> list[tuple[str, str]]:
    return [(f"cluster-{i}:namespace-{i}/deployment-{i}", f"{label} {i}") for i in range(n)]


@pytest.mark.parametrize("n", [1, 3, 100, 101, 500])
def test_operation_modals_fit(n: int) -> None:
    inc = _incident()
    for build in (ui_ops.rollback_modal, ui_ops.scale_modal):
        view = build(inc, "C1", _choices(n), None)
        check_view(view)
        element = next(b for b in view["blocks"] if b.get("block_id") == "target")["element"]
        # a menu never hides a Deployment: too many means typing it
        assert element["type"] == ("static_select" if n <= 100 else "plain_text_input")
    check_view(ui_ops.rollback_modal(inc, "C1", [("ns/" + "d" * 200, "long")], None))
    check_view(ui_ops.no_cluster_modal("Roll back", inc, "C1"))


def test_operation_messages_fit() -> None:
    plan = escape_mrkdwn(HOSTILE) * 3
    plan_id = "A" * 16  # the buttons carry the kept plan's id, never the plan
    blocks = ui_ops.confirmation_blocks(plan, plan_id, "rollback", dry_run=True)
    _message(ui_ops.confirmation_text(plan, dry_run=True), blocks)
    values = [el["value"] for b in blocks for el in b.get("elements") or [] if "value" in el]
    assert values == [plan_id, plan_id]


def test_operation_modals_number_boxes() -> None:
    """Rollback's revision and Scale's replicas are the one whole-number box, optional only
    for the revision (the previous one by default); a revision starts at 1, replicas at 0."""
    inc = _incident()
    boxes = {
        b["block_id"]: b
        for build in (ui_ops.rollback_modal, ui_ops.scale_modal)
        for b in build(inc, "C1", _choices(1), None)["blocks"]
        if b.get("block_id") in ("revision", "replicas")
    }
    assert boxes["revision"]["optional"] is True and "optional" not in boxes["replicas"]
    for block_id, minimum in (("revision", "1"), ("replicas", "0")):
        element = boxes[block_id]["element"]
        assert element["type"] == "number_input" and element["action_id"] == "value"
        assert element["min_value"] == minimum and element["is_decimal_allowed"] is False


def test_incident_texts_fit() -> None:
    inc = _incident()
    question, blocks = incident_text.resolve_question(inc, HOSTILE, "stash-id")
    _message(question, blocks)
    confirm = blocks[1]["elements"][0]
    assert incident_text.read_resolve_value(confirm["value"]) == (inc.number, "stash-id")
    assert incident_text.read_resolve_value(f"{inc.number}:") == (inc.number, None)
    assert incident_text.read_resolve_value('{"n": 1, "s": "x"}') is None
    _message(None, incident_text.suggest_resolve_blocks(inc, escape_mrkdwn(HOSTILE) * 3))
    many = [_incident(number=i) for i in range(1000)]
    _message(incident_text.open_list(many, T0 + timedelta(hours=1)), None)
    _message(incident_text.short_open_list(many), None)
    events = [
        TimelineEvent(occurred_at=T0, actor=LONG_USER, kind="update", text=HOSTILE, data={})
        for _ in range(30)
    ]
    _message("\n".join(incident_text.timeline_lines(events)), None)
    _message(card.announcement(inc), None)


# -- the one shortening rule -------------------------------------------------------------------

UNITS = re.compile(r"&#?\w+;|<[^<>\n]*>")


@pytest.mark.parametrize("limit", range(40, 140))
def test_clip_never_cuts_an_entity_or_a_mention(limit: int) -> None:
    text = escape_mrkdwn("a&b<c ") + "<@U12345> <#C1|incidents> <https://x.example/a|a link> " * 5
    clipped = clip_mrkdwn(text, limit)
    assert len(clipped) <= limit and clipped.endswith(NOTE)
    body = clipped[: -len(NOTE)]
    # every & and < left in the kept part starts a whole unit
    for m in re.finditer(r"[&<]", body):
        unit = UNITS.match(body, m.start())
        assert unit is not None, (limit, body)


def test_clip_leaves_short_text_alone_and_plain_is_never_empty() -> None:
    assert clip_mrkdwn("short", 10) == "short"
    assert clip_plain("", 10) == " "
    assert len(clip_plain("x" * 100, 75)) == 75
