"""The card shows the incident's state as Slack received it (issue 13): who acknowledged and
when, times in the reader's own zone with one UTC fallback, counts with the right plural that
agree with what is listed, and edit forms that show names instead of raw mentions."""

from __future__ import annotations

import re
from typing import Any

from warroom_sandbox.testbed import Testbed

from tests.e2e.test_card_buttons import modal, press
from tests.e2e.test_lifecycle import (
    card,
    channel_texts,
    declared,
    events,
    incident,
    incidents_channel_texts,
    text_of,
    wait_card,
)

# `<!date^epoch^{date_short_pretty} {time}|2026-12-02 15:12 UTC>`
DATE_TOKEN = re.compile(r"<!date\^(\d+)\^\{date_short_pretty\} \{time\}\|([^>]+)>")


def field(message: Any, label: str) -> str:
    """The value of one labelled field of the card's fields section, as Slack received it."""
    for block in message.blocks:
        for f in block.get("fields") or []:
            head, _, value = f["text"].partition("\n")
            if head == f"*{label}:*":
                return value
    raise AssertionError(f"no {label} field on the card")


def test_acknowledged_shows_who_and_when(bed: Testbed) -> None:
    inc = declared(bed)
    assert field(card(bed, inc), "Acknowledged") == "_not yet_"
    press(bed, inc, "incident_ack", who="bob")
    shown = wait_card(bed, inc, "*Acknowledged:* <@")
    row = incident(bed)
    [ack] = events(bed, "acknowledged")
    value = field(shown, "Acknowledged")
    assert value.startswith(f"<@{bed.people['bob']}> · ") and ack["actor"] == bed.people["bob"]
    [(epoch, fallback)] = DATE_TOKEN.findall(value)
    assert int(epoch) == int(row["acknowledged_at"].timestamp())
    assert fallback == row["acknowledged_at"].strftime("%Y-%m-%d %H:%M UTC")
    # the other fields stay in runbook 003's order, Acknowledged after Started
    labels = [f["text"].partition("\n")[0] for b in shown.blocks for f in b.get("fields") or []]
    assert labels == [
        "*Severity:*",
        "*Status:*",
        "*Impact:*",
        "*Started:*",
        "*Acknowledged:*",
        "*Incident Commander:*",
    ]


def fallback(text: str) -> str:
    """What a client that cannot show local times reads: each date token's fallback."""
    return re.sub(r"<!date\^[^|>]*\|([^>]*)>", r"\1", text)


TWICE = re.compile(r"(\d\d:\d\d UTC)\W*\(\s*(?:<!date[^>]*\|)?\1")


def test_no_time_is_shown_twice(bed: Testbed) -> None:
    inc = declared(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]
    bed.driver.command("update Rolled back the config", user_id=alice, channel_id=channel)
    shown = wait_card(bed, inc, "Rolled back the config")
    status = text_of(bed.driver.command("status", user_id=alice, channel_id=channel))
    again = text_of(bed.driver.command("ack", user_id=alice, channel_id=channel))
    texts = [shown.text, *(f["text"] for b in shown.blocks for f in b.get("fields") or [])]
    texts += [b["text"]["text"] for b in shown.blocks if b["type"] == "section" and "text" in b]
    texts += [status, again, *incidents_channel_texts(bed), *channel_texts(bed, channel)]
    for text in texts:
        assert not TWICE.search(text) and not TWICE.search(fallback(text)), text
    started = field(shown, "Started")
    [(epoch, utc)] = DATE_TOKEN.findall(started)
    assert started == f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{utc}>"
    assert utc == incident(bed)["declared_at"].strftime("%Y-%m-%d %H:%M UTC")
    assert "acknowledged at" in again and again.count("UTC") == 1


def test_earlier_updates_count_what_the_card_does_not_list(bed: Testbed) -> None:
    inc = declared(bed)
    alice, channel = bed.people["alice"], inc["channel_id"]
    shown = card(bed, inc)
    assert "earlier update" not in shown.text
    for i in range(1, 8):
        bed.driver.command(f"update step {i} done", user_id=alice, channel_id=channel)
    shown = wait_card(bed, inc, "step 7 done")
    [updates] = [
        b["text"]["text"]
        for b in shown.blocks
        if b["type"] == "section" and "text" in b and b["text"]["text"].startswith("*Updates:*")
    ]
    listed = [line for line in updates.splitlines() if line.startswith("• ")]
    [hidden] = [int(n) for n in re.findall(r"_(\d+) earlier update", updates)]
    assert len(events(bed, "update")) == 7
    assert hidden == 7 - len(listed) and len(listed) == 5
    assert [line.rpartition(" — ")[2] for line in listed] == [f"step {i} done" for i in range(3, 8)]


def _inputs(view: Any) -> dict[str, dict]:
    return {b["block_id"]: b["element"] for b in view.blocks if b["type"] == "input"}


def test_edit_forms_show_names_not_mentions(bed: Testbed) -> None:
    bob = bed.people["bob"]
    inc = declared(bed, title=f"Checkout broken for <@{bob}>")
    press(bed, inc, "incident_update")
    first = modal(bed, "incident_update_view")
    assert "@bob" in first.blocks[0]["elements"][0]["text"]
    assert "<@" not in first.blocks[0]["elements"][0]["text"]
    values = {
        "status": {"value": {"type": "static_select", "selected_option": {"value": "identified"}}},
        "message": {"value": "Found it"},
        "impact": {"value": f"Customers of <@{bob}> cannot pay"},
    }
    alice = bed.people["alice"]
    bed.driver.view_submission("incident_update_view", values, user_id=alice, view_id=first.id)
    bed.wait_for(lambda: incident(bed)["impact"] == f"Customers of <@{bob}> cannot pay")

    press(bed, inc, "incident_update")
    second = modal(bed, "incident_update_view", count=2)
    shown = _inputs(second)["impact"]["initial_value"]
    assert shown == "Customers of @bob cannot pay"
    assert any(c.args.get("user") == bob for c in bed.emulator.calls("users.info"))
    # submitted as shown: the stored impact keeps the mention, and no impact change is recorded
    values["impact"] = {"value": shown}
    values["message"] = {"value": "Still on it"}
    bed.driver.view_submission("incident_update_view", values, user_id=alice, view_id=second.id)
    bed.wait_for(lambda: len(events(bed, "update")) == 2)
    assert incident(bed)["impact"] == f"Customers of <@{bob}> cannot pay"
    assert "impact" not in events(bed, "update")[-1]["data"]
    # an edited impact is taken as written
    press(bed, inc, "incident_update")
    third = modal(bed, "incident_update_view", count=3)
    values["impact"] = {"value": "Everyone cannot pay"}
    values["message"] = {"value": "Worse"}
    bed.driver.view_submission("incident_update_view", values, user_id=alice, view_id=third.id)
    bed.wait_for(lambda: incident(bed)["impact"] == "Everyone cannot pay")

    press(bed, inc, "incident_commander")
    ic = _inputs(modal(bed, "incident_commander_view"))["commander"]
    assert ic["type"] == "users_select" and ic["initial_user"] == inc["commander_id"]


def test_update_command_form_shows_names_too(bed: Testbed) -> None:
    bob = bed.people["bob"]
    inc = declared(bed, title=f"Payments down for <@{bob}>")
    bed.driver.command("update", user_id=bed.people["alice"], channel_id=inc["channel_id"])
    heading = modal(bed, "incident_update_view").blocks[0]["elements"][0]["text"]
    assert heading == "Incident #1: Payments down for @bob"
