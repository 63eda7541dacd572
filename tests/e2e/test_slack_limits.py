"""Texts as long as warroom accepts them still give messages real Slack accepts: the card after
a 3,000-character impact full of `&<>` and several 3,000-character updates, and the resolve
question of an emoji-rich summary. The full texts stay in the timeline."""

from __future__ import annotations

from warroom_sandbox.slack_emulator.blockkit import check_message_blocks, check_message_text
from warroom_sandbox.testbed import Testbed

from tests.e2e.test_declare import setup_finished
from tests.e2e.test_lifecycle import GENERAL, card, card_edits, events, incident, text_of

# escaping makes each of `&<>` 4-5 characters long
IMPACT = ("EU & US <checkout> 🔥 " * 200)[:3000]
TITLE = ("<b>&</b> 🔥" * 20)[:150]


def _update(i: int) -> str:
    return (f"update {i}: a&b<c>d 👩‍💻 " * 200)[:3000]


def _declare_with_modal(bed: Testbed) -> dict:
    alice = bed.people["alice"]
    general = bed.emulator.channel_by_name(GENERAL).id
    resp = bed.driver.view_submission(
        "declare_incident",
        {
            "title": {"value": {"type": "plain_text_input", "value": TITLE}},
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV2"}}},
            "impact": {"value": {"type": "plain_text_input", "value": IMPACT}},
            "commander": {"value": {"type": "users_select", "selected_user": alice}},
        },
        user_id=alice,
        private_metadata=general,
    )
    assert resp.status_code == 200
    inc = bed.wait_for(lambda: setup_finished(bed))
    assert inc["setup"]["failed"] == {}
    return inc


def test_long_impact_and_updates_leave_a_valid_card(bed: Testbed) -> None:
    inc = _declare_with_modal(bed)
    assert incident(bed)["impact"] == IMPACT
    ch, bob = inc["channel_id"], bed.people["bob"]
    for i in range(4):
        reply = text_of(bed.driver.command(f"update {_update(i)}", user_id=bob, channel_id=ch))
        assert "Update posted" in reply, reply
    bed.wait_for(lambda: card_edits(bed, inc) >= 1 and "update 3:" in card(bed, inc).text)

    edits = [c for c in bed.emulator.calls("chat.update") if c.args.get("ts") == inc["card_ts"]]
    assert edits and all(c.ok for c in edits), [c.response for c in edits if not c.ok]
    shown = card(bed, inc)
    check_message_text(shown.text)
    check_message_blocks(shown.blocks)
    assert "full text in the timeline" in shown.text
    # every full text is in the timeline
    assert [e["text"] for e in events(bed, "update")] == [_update(i) for i in range(4)]
    [declared_event] = events(bed, "declared")
    assert declared_event["data"]["impact"] == IMPACT


def test_resolve_confirmation_of_an_emoji_summary(bed: Testbed) -> None:
    inc = _declare_with_modal(bed)
    ch, alice = inc["channel_id"], bed.people["alice"]
    summary = "🔥&<>" * 450  # 1,800 characters; as JSON ~8,000
    resp = bed.driver.command(f"resolve {summary}", user_id=alice, channel_id=ch)
    body = resp.json()
    check_message_text(body["text"])
    check_message_blocks(body["blocks"])
    [confirm] = [
        el
        for b in body["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el["action_id"] == "incident_resolve_confirm"
    ]
    assert len(confirm["value"]) < 100
    message = {"type": "message", "text": body["text"], "blocks": body["blocks"]}
    bed.driver.block_action(
        "incident_resolve_confirm", confirm["value"], user_id=alice, channel_id=ch, message=message
    )
    bed.wait_for(lambda: incident(bed)["status"] == "resolved")
    assert incident(bed)["summary"] == summary
