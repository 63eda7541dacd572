"""`/incident ack | update | status | sev | ic | note | timeline | resolve | list` end to end:
signed commands in, Postgres rows and Slack state (card edited in place, topic, messages,
#incidents) out."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from warroom_sandbox.testbed import Testbed

GENERAL = "general"


# -- helpers (also used by the other lifecycle test files) --------------------------------


def declared(
    bed: Testbed, title: str = "Checkout is failing", sev: str = "SEV2", who: str = "alice"
) -> dict:
    """Declare through the command and wait until Slack set-up is done."""
    general = bed.emulator.channel_by_name(GENERAL).id
    before = len(incidents(bed))
    bed.driver.command(f"declare {sev} {title}", user_id=bed.people[who], channel_id=general)

    def ready() -> dict | None:
        rows = incidents(bed)
        if len(rows) <= before:
            return None
        inc = rows[-1]
        return inc if len(inc["setup"]["done"]) + len(inc["setup"]["failed"]) >= 6 else None

    inc = bed.wait_for(ready)
    assert inc["setup"]["failed"] == {}
    return inc


def incidents(bed: Testbed) -> list[dict]:
    return bed.rows("SELECT * FROM incidents ORDER BY number")


def incident(bed: Testbed, number: int = 1) -> dict:
    return bed.rows("SELECT * FROM incidents WHERE number = :n", n=number)[0]


def events(bed: Testbed, kind: str | None = None, number: int = 1) -> list[dict]:
    q = "SELECT * FROM timeline_events WHERE incident_number = :n"
    if kind:
        q += " AND kind = :k"
    return bed.rows(q + " ORDER BY id", n=number, k=kind)


def card(bed: Testbed, inc: dict) -> Any:
    return bed.emulator.message(inc["channel_id"], inc["card_ts"])


def text_of(resp: httpx.Response) -> str:
    assert resp.status_code == 200, resp.text
    return resp.json().get("text", "") if resp.content else ""


def channel_texts(bed: Testbed, channel: str) -> list[str]:
    return [m.text for m in bed.emulator.messages(channel)]


def incidents_channel_texts(bed: Testbed) -> list[str]:
    return channel_texts(bed, bed.emulator.channel_by_name("incidents").id)


def card_edits(bed: Testbed, inc: dict) -> int:
    return len([c for c in bed.emulator.calls("chat.update") if c.args.get("ts") == inc["card_ts"]])


def wait_card(bed: Testbed, inc: dict, needle: str) -> Any:
    return bed.wait_for(lambda: needle in card(bed, inc).text and card(bed, inc))


# -- tests --------------------------------------------------------------------------------


def test_ack_edits_the_card_in_place_and_says_so(bed: Testbed) -> None:
    inc = declared(bed)
    alice = bed.people["alice"]
    reply = text_of(bed.driver.command("ack", user_id=alice, channel_id=inc["channel_id"]))
    assert "Incident #1 acknowledged" in reply
    row = incident(bed)
    assert row["acknowledged_at"] is not None
    assert row["acknowledged_at"].tzinfo is not None
    [ack] = events(bed, "acknowledged")
    assert ack["actor"] == alice

    bed.wait_for(lambda: card_edits(bed, inc) >= 1)
    assert card(bed, inc).ts == inc["card_ts"]  # same message, edited
    assert len(bed.emulator.pins(inc["channel_id"])) == 1
    bed.wait_for(
        lambda: any("acknowledged incident #1" in t for t in channel_texts(bed, inc["channel_id"]))
    )

    again = text_of(bed.driver.command("ack", user_id=alice, channel_id=inc["channel_id"]))
    assert "Nothing to change" in again and "acknowledged at" in again
    assert len(events(bed, "acknowledged")) == 1


def test_update_with_text_shows_on_the_card(bed: Testbed) -> None:
    inc = declared(bed)
    bob = bed.people["bob"]
    reply = text_of(
        bed.driver.command(
            "update Rolled back the <!channel> deploy", user_id=bob, channel_id=inc["channel_id"]
        )
    )
    assert "Update posted to incident #1" in reply
    [update] = events(bed, "update")
    assert update["text"] == "Rolled back the <!channel> deploy"
    assert update["actor"] == bob
    row = incident(bed)
    assert row["last_update_at"] == update["occurred_at"]
    assert row["acknowledged_at"] is not None  # an update shows someone is on it
    shown = wait_card(bed, inc, "Rolled back")
    assert "<!channel>" not in shown.text and "&lt;!channel&gt;" in shown.text
    posted = bed.wait_for(
        lambda: [t for t in channel_texts(bed, inc["channel_id"]) if t.startswith("📣")]
    )
    assert "&lt;!channel&gt;" in posted[0]


def test_update_without_text_opens_the_form(bed: Testbed) -> None:
    inc = declared(bed)
    alice = bed.people["alice"]
    text_of(bed.driver.command("update", user_id=alice, channel_id=inc["channel_id"]))
    view = bed.wait_for(
        lambda: [v for v in bed.emulator.views() if v.callback_id == "incident_update_view"]
    )[0]
    resp = bed.driver.view_submission(
        "incident_update_view",
        {
            "status": {
                "value": {"type": "static_select", "selected_option": {"value": "mitigating"}}
            },
            "message": {"value": "Failing over to the replica"},
            "impact": {"value": "EU checkout down"},
        },
        user_id=alice,
        view_id=view.id,
    )
    assert resp.status_code == 200
    bed.wait_for(lambda: events(bed, "update"))
    row = incident(bed)
    assert (row["status"], row["impact"]) == ("mitigating", "EU checkout down")
    assert row["mitigated_at"] is not None
    [update] = events(bed, "update")
    assert update["data"]["status"] == "mitigating"
    assert update["data"]["status_before"] == "investigating"
    assert update["data"]["impact"] == "EU checkout down"
    wait_card(bed, inc, "Mitigating")
    bed.wait_for(lambda: "Mitigating" in bed.emulator.topic(inc["channel_id"]))


def test_status_moves_and_mitigated_at_is_first_reached(bed: Testbed) -> None:
    inc = declared(bed)
    ch, alice = inc["channel_id"], bed.people["alice"]
    assert "Investigating → *Identified*" in text_of(
        bed.driver.command("status identified", user_id=alice, channel_id=ch)
    )
    assert incident(bed)["mitigated_at"] is None
    text_of(bed.driver.command("status MONITORING", user_id=alice, channel_id=ch))
    first = incident(bed)["mitigated_at"]
    assert first is not None
    text_of(bed.driver.command("status investigating", user_id=alice, channel_id=ch))
    text_of(bed.driver.command("status mitigating", user_id=alice, channel_id=ch))
    assert incident(bed)["mitigated_at"] == first
    statuses = [(e["data"]["before"], e["data"]["after"]) for e in events(bed, "status")]
    assert statuses == [
        ("investigating", "identified"),
        ("identified", "monitoring"),
        ("monitoring", "investigating"),
        ("investigating", "mitigating"),
    ]
    assert "Unknown status `fixed-ish`" in text_of(
        bed.driver.command("status fixed-ish", user_id=alice, channel_id=ch)
    )
    assert "already" in text_of(
        bed.driver.command("status mitigating", user_id=alice, channel_id=ch)
    )
    usage = text_of(bed.driver.command("status", user_id=alice, channel_id=ch))
    assert "is *Mitigating*" in usage
    bed.wait_for(lambda: "Mitigating" in bed.emulator.topic(ch))


def test_severity_up_to_sev1_is_announced(bed: Testbed) -> None:
    inc = declared(bed, sev="SEV3")
    ch, alice = inc["channel_id"], bed.people["alice"]
    assert "SEV3 → *SEV2*" in text_of(bed.driver.command("sev sev2", user_id=alice, channel_id=ch))
    assert "SEV2 → *SEV1*" in text_of(
        bed.driver.command("severity SEV-1", user_id=alice, channel_id=ch)
    )
    assert incident(bed)["severity"] == "SEV1"
    sevs = [(e["data"]["before"], e["data"]["after"], e["actor"]) for e in events(bed, "severity")]
    assert sevs == [("SEV3", "SEV2", alice), ("SEV2", "SEV1", alice)]
    raised = bed.wait_for(
        lambda: [t for t in incidents_channel_texts(bed) if "raised to *SEV1*" in t]
    )
    assert len(raised) == 1 and f"<#{ch}>" in raised[0]
    bed.wait_for(lambda: bed.emulator.topic(ch).startswith("SEV1"))
    wait_card(bed, inc, "SEV1")
    assert "Unknown severity `SEV9`" in text_of(
        bed.driver.command("sev SEV9", user_id=alice, channel_id=ch)
    )
    # nothing after `sev`: the usage and every level, with the names people use for them
    usage = text_of(bed.driver.command("sev", user_id=alice, channel_id=ch))
    assert "`/incident sev <level>`" in usage and "SEV1 (S1, P0, P1, critical)" in usage
    assert "SEV1 → *SEV2*" in text_of(bed.driver.command("sev P2", user_id=alice, channel_id=ch))
    assert "SEV2 → *SEV3*" in text_of(
        bed.driver.command("sev medium", user_id=alice, channel_id=ch)
    )
    refused = text_of(bed.driver.command("sev P7", user_id=alice, channel_id=ch))
    assert "Unknown severity `P7`" in refused and "SEV4 (S4, low)" in refused
    assert incident(bed)["severity"] == "SEV3"


def test_commander_handover_by_mention_or_name(bed: Testbed) -> None:
    inc = declared(bed)
    ch, alice, bob, carol = (
        inc["channel_id"],
        bed.people["alice"],
        bed.people["bob"],
        bed.people["carol"],
    )
    reply = text_of(bed.driver.command(f"ic <@{bob}|bob>", user_id=alice, channel_id=ch))
    assert f"<@{bob}> is now the commander" in reply
    assert incident(bed)["commander_id"] == bob
    bed.wait_for(lambda: bob in bed.emulator.members(ch))
    wait_card(bed, inc, f"<@{bob}>")
    # bob is commander now, so he hands over to carol by plain name
    text_of(bed.driver.command("ic @carol", user_id=bob, channel_id=ch))
    assert incident(bed)["commander_id"] == carol
    changes = [(e["data"]["before"], e["data"]["after"]) for e in events(bed, "commander")]
    assert changes == [(alice, bob), (bob, carol)]
    assert "could not find `@nobody`" in text_of(
        bed.driver.command("ic @nobody", user_id=carol, channel_id=ch)
    )
    assert "Name the new commander" in text_of(
        bed.driver.command("ic", user_id=carol, channel_id=ch)
    )


def test_permission_denial_names_who_may_and_is_audited(bed: Testbed) -> None:
    inc = declared(bed)
    ch, carol = inc["channel_id"], bed.people["carol"]
    for cmd in ("sev SEV1", f"ic <@{carol}>", "resolve done"):
        reply = text_of(bed.driver.command(cmd, user_id=carol, channel_id=ch))
        assert reply.startswith("⚠️ Only the commander (<@") and "the reporter" in reply, reply
    row = incident(bed)
    assert (row["severity"], row["commander_id"], row["status"]) == (
        "SEV2",
        bed.people["alice"],
        "investigating",
    )
    denied = events(bed, "denied")
    assert [d["data"]["what"] for d in denied] == ["severity", "commander", "resolve"]
    assert all(d["actor"] == carol for d in denied)
    # anyone may acknowledge, update and take notes
    assert "acknowledged" in text_of(bed.driver.command("ack", user_id=carol, channel_id=ch))


def test_responders_group_members_may_change_severity(bed: Testbed) -> None:
    inc = declared(bed)
    ch, carol = inc["channel_id"], bed.people["carol"]
    bed.emulator.add_usergroup("sre-responders", [carol])
    old = bed.settings.responders_group
    bed.settings.responders_group = "sre-responders"
    try:
        assert "SEV2 → *SEV1*" in text_of(
            bed.driver.command("sev SEV1", user_id=carol, channel_id=ch)
        )
        denied = text_of(bed.driver.command("sev SEV3", user_id=bed.people["dave"], channel_id=ch))
        assert "members of @sre-responders" in denied
    finally:
        bed.settings.responders_group = old


def test_notes_and_cause_candidates(bed: Testbed) -> None:
    inc = declared(bed)
    ch, dave = inc["channel_id"], bed.people["dave"]
    assert "Note added" in text_of(
        bed.driver.command("note Saw 502s from the LB", user_id=dave, channel_id=ch)
    )
    text_of(
        bed.driver.command("note cause: connection pool exhausted", user_id=dave, channel_id=ch)
    )
    notes = events(bed, "note")
    assert [(n["text"], n["data"]["cause_candidate"]) for n in notes] == [
        ("Saw 502s from the LB", False),
        ("connection pool exhausted", True),
    ]
    assert "empty" in text_of(bed.driver.command("note   ", user_id=dave, channel_id=ch))
    too_long = text_of(bed.driver.command("note " + "x" * 3001, user_id=dave, channel_id=ch))
    assert "3001 characters" in too_long


def test_timeline_is_paged_and_escaped(bed: Testbed) -> None:
    inc = declared(bed)
    ch, erin = inc["channel_id"], bed.people["erin"]
    for i in range(25):
        bed.driver.command(f"note step {i} <@U0BOSS>", user_id=erin, channel_id=ch)
    first = text_of(bed.driver.command("timeline", user_id=erin, channel_id=ch))
    assert "page 1/2 (26 events)" in first
    assert "*declared*" in first and "setup.card" not in first
    assert "/incident timeline 2" in first
    assert "<@U0BOSS>" not in first and "&lt;@U0BOSS&gt;" in first
    assert " UTC`" in first
    second = text_of(bed.driver.command("timeline 2", user_id=erin, channel_id=ch))
    assert "page 2/2" in second and "step 24" in second and "step 0 " not in second
    assert "has 2 pages" in text_of(bed.driver.command("timeline 7", user_id=erin, channel_id=ch))
    assert "page is a number" in text_of(
        bed.driver.command("timeline next", user_id=erin, channel_id=ch)
    )


def _confirm_payload(resp: httpx.Response) -> tuple[dict, str]:
    body = resp.json()
    button = next(
        el
        for b in body["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el["action_id"] == "incident_resolve_confirm"
    )
    return {"type": "message", "text": body["text"], "blocks": body["blocks"]}, button["value"]


def test_resolve_asks_to_confirm_then_resolves(bed: Testbed) -> None:
    inc = declared(bed)
    ch, alice = inc["channel_id"], bed.people["alice"]
    resp = bed.driver.command("resolve Rolled back <b>bad</b> deploy", user_id=alice, channel_id=ch)
    assert "Resolve incident #1" in text_of(resp)
    assert incident(bed)["status"] == "investigating"  # not yet
    message, value = _confirm_payload(resp)
    assert len(value) <= 2000  # Slack refuses a longer button value; the summary arrives below

    press = bed.driver.block_action(
        "incident_resolve_confirm", value, user_id=alice, channel_id=ch, message=message
    )
    assert press.status_code == 200
    bed.wait_for(lambda: incident(bed)["status"] == "resolved")
    row = incident(bed)
    assert row["summary"] == "Rolled back <b>bad</b> deploy"
    assert row["resolved_at"] is not None and row["mitigated_at"] is not None
    [resolved] = events(bed, "resolved")
    assert resolved["actor"] == alice and resolved["data"] == {
        "before": "investigating",
        "after": "resolved",
    }

    final = wait_card(bed, inc, "Resolved")
    assert not [b for b in final.blocks if b["type"] == "actions"]
    assert any("this card is final" in str(b) for b in final.blocks)
    announced = bed.wait_for(
        lambda: [t for t in incidents_channel_texts(bed) if "resolved" in t and "#1" in t]
    )
    assert "&lt;b&gt;bad&lt;/b&gt;" in announced[-1]
    bed.wait_for(lambda: any("Incident #1 is resolved" in r.text for r in bed.emulator.responses()))

    # a second press of the same Confirm and any later command are stale
    bed.driver.block_action(
        "incident_resolve_confirm", value, user_id=alice, channel_id=ch, message=message
    )
    bed.wait_for(lambda: any("already resolved" in r.text for r in bed.emulator.responses()))
    assert len(events(bed, "resolved")) == 1
    for cmd in (
        "ack",
        "update still here",
        "sev SEV1",
        "status mitigating",
        "note late",
        "resolve",
    ):
        assert "already resolved" in text_of(
            bed.driver.command(cmd, user_id=alice, channel_id=ch)
        ), cmd


def test_resolve_cancel_keeps_it_open(bed: Testbed) -> None:
    inc = declared(bed)
    ch, alice = inc["channel_id"], bed.people["alice"]
    resp = bed.driver.command("status resolved", user_id=alice, channel_id=ch)
    message, _ = _confirm_payload(resp)
    assert "No summary given" in message["text"]
    bed.driver.block_action(
        "incident_resolve_cancel", "1", user_id=alice, channel_id=ch, message=message
    )
    bed.wait_for(lambda: any("stays open" in r.text for r in bed.emulator.responses()))
    assert incident(bed)["status"] == "investigating"


def test_outside_the_channel_lists_or_takes_a_number(bed: Testbed) -> None:
    first = declared(bed, title="Checkout is failing")
    declared(bed, title="Search is slow", sev="SEV3", who="bob")
    general = bed.emulator.channel_by_name(GENERAL).id
    alice = bed.people["alice"]
    listing = text_of(bed.driver.command("ack", user_id=alice, channel_id=general))
    assert "This is not an incident channel" in listing
    assert "#1" in listing and "#2" in listing
    assert "acknowledged" in text_of(bed.driver.command("ack 1", user_id=alice, channel_id=general))
    assert "SEV2 → *SEV1*" in text_of(
        bed.driver.command("sev #1 SEV1", user_id=alice, channel_id=general)
    )
    assert incident(bed, 1)["severity"] == "SEV1"
    assert incident(bed, 2)["acknowledged_at"] is None
    assert "no incident #9" in text_of(
        bed.driver.command("ack 9", user_id=alice, channel_id=general)
    )
    assert first["channel_id"]


def test_list_shows_open_incidents_everywhere(bed: Testbed) -> None:
    a = declared(bed, title="Checkout is failing", sev="SEV2")
    b = declared(bed, title="Search <slow>", sev="SEV1", who="bob")
    listing = text_of(
        bed.driver.command("list", user_id=bed.people["erin"], channel_id="C0NOWHERE")
    )
    assert "Open incidents (2)" in listing
    assert listing.index("#2") < listing.index("#1")  # SEV1 first
    assert f"<#{a['channel_id']}>" in listing and f"<#{b['channel_id']}>" in listing
    assert f"IC <@{bed.people['bob']}>" in listing
    assert "Search &lt;slow&gt;" in listing and "open 0s" in listing


def test_a_retried_command_is_applied_once(bed: Testbed) -> None:
    inc = declared(bed)
    ch, bob = inc["channel_id"], bed.people["bob"]
    first = bed.driver.command(
        "update Restarted pods", user_id=bob, channel_id=ch, trigger_id="T-UPD-1"
    )
    retry = bed.driver.command(
        "update Restarted pods", user_id=bob, channel_id=ch, trigger_id="T-UPD-1", retry_num=1
    )
    assert "Update posted" in text_of(first)
    assert "Already done" in text_of(retry)
    assert len(events(bed, "update")) == 1


@pytest.mark.parametrize(
    "text", ["ack", "update", "status", "sev", "ic", "note x", "timeline", "resolve"]
)
def test_help_lists_every_lifecycle_subcommand(bed: Testbed, text: str) -> None:
    help_text = text_of(bed.driver.command("help", user_id=bed.people["alice"], channel_id="C1"))
    assert f"/incident {text.split()[0]}" in help_text


def test_commands_are_quick(bed: Testbed) -> None:
    inc = declared(bed)
    started = time.perf_counter()
    text_of(
        bed.driver.command(
            "update all good", user_id=bed.people["alice"], channel_id=inc["channel_id"]
        )
    )
    assert time.perf_counter() - started < 2.0
