"""The card's buttons end to end: presses and modal submissions signed like Slack's, retries
and double clicks applied once, stale buttons and permission denials answered, the card
edited in place."""

from __future__ import annotations

import time

from warroom_sandbox.testbed import Testbed

from tests.e2e.test_lifecycle import (
    card,
    card_edits,
    declared,
    events,
    incident,
    incidents_channel_texts,
)

BUTTONS = [
    "incident_ack",
    "incident_update",
    "incident_severity",
    "incident_commander",
    "incident_resolve",
]


def press(bed: Testbed, inc: dict, action_id: str, who: str = "alice", **extra):
    resp = bed.driver.block_action(
        action_id,
        str(inc["number"]),
        user_id=bed.people[who],
        channel_id=inc["channel_id"],
        message_ts=inc["card_ts"],
        **extra,
    )
    assert resp.status_code == 200
    return resp


def modal(bed: Testbed, callback_id: str, count: int = 1):
    views = bed.wait_for(
        lambda: (
            len(found := [v for v in bed.emulator.views() if v.callback_id == callback_id]) >= count
            and found
        )
    )
    return views[-1]


def told(bed: Testbed, needle: str, who: str = "alice") -> str:
    """What a person was told privately: a response_url answer or an ephemeral."""

    def find() -> str | None:
        texts = [r.text for r in bed.emulator.responses()] + [
            e.text for e in bed.emulator.ephemerals(user=bed.people[who])
        ]
        return next((t for t in texts if needle in t), None)

    return bed.wait_for(find)


def test_the_card_shows_every_button_in_order(bed: Testbed) -> None:
    inc = declared(bed)
    [actions] = [b for b in card(bed, inc).blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == BUTTONS
    resolve = actions["elements"][-1]
    assert resolve["style"] == "danger" and resolve["confirm"]["confirm"]["text"] == "Resolve"
    assert all(e["value"] == "1" for e in actions["elements"])


def test_acknowledge_once_despite_retries_and_double_clicks(bed: Testbed) -> None:
    inc = declared(bed)
    first = press(bed, inc, "incident_ack")
    bed.driver.retry(first, retry_num=1)
    bed.driver.retry(first, retry_num=2)
    bed.wait_for(lambda: incident(bed)["acknowledged_at"] is not None)
    bed.wait_for(lambda: card_edits(bed, inc) >= 1)
    press(bed, inc, "incident_ack", who="bob")  # a second person, a moment later
    told(bed, "Nothing to change", who="bob")
    time.sleep(0.3)
    assert len(events(bed, "acknowledged")) == 1
    said = [
        m for m in bed.emulator.messages(inc["channel_id"]) if "acknowledged incident" in m.text
    ]
    assert len(said) == 1
    assert card(bed, inc).ts == inc["card_ts"]
    assert card_edits(bed, inc) == 1


def test_post_update_modal_and_double_submit(bed: Testbed) -> None:
    inc = declared(bed)
    press(bed, inc, "incident_update", who="bob")
    view = modal(bed, "incident_update_view")
    assert [b.get("block_id") for b in view.blocks if b["type"] == "input"] == [
        "status",
        "message",
        "impact",
        "public",
    ]
    values = {
        "status": {"value": {"type": "static_select", "selected_option": {"value": "identified"}}},
        "message": {"value": "Found the bad config push"},
        "impact": {"value": None},
    }
    for _ in range(2):
        resp = bed.driver.view_submission(
            "incident_update_view", values, user_id=bed.people["bob"], view_id=view.id
        )
        assert resp.status_code == 200
    bed.wait_for(lambda: events(bed, "update"))
    bed.wait_for(lambda: "Found the bad config push" in card(bed, inc).text)
    time.sleep(0.3)
    assert len(events(bed, "update")) == 1
    row = incident(bed)
    assert row["status"] == "identified" and row["impact"] is None


def test_update_modal_requires_a_message(bed: Testbed) -> None:
    inc = declared(bed)
    press(bed, inc, "incident_update")
    view = modal(bed, "incident_update_view")
    resp = bed.driver.view_submission(
        "incident_update_view",
        {
            "status": {
                "value": {"type": "static_select", "selected_option": {"value": "identified"}}
            },
            "message": {"value": "  "},
        },
        user_id=bed.people["alice"],
        view_id=view.id,
    )
    assert resp.json() == {
        "response_action": "errors",
        "errors": {"message": "Write what is happening now."},
    }
    assert not events(bed, "update")


def test_change_severity_through_the_modal(bed: Testbed) -> None:
    inc = declared(bed, sev="SEV3")
    press(bed, inc, "incident_severity")
    view = modal(bed, "incident_severity_view")
    [select] = [b["element"] for b in view.blocks if b.get("block_id") == "severity"]
    assert select["type"] == "static_select" and select["initial_option"]["value"] == "SEV3"
    bed.driver.view_submission(
        "incident_severity_view",
        {"severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV1"}}}},
        user_id=bed.people["alice"],
        view_id=view.id,
    )
    bed.wait_for(lambda: incident(bed)["severity"] == "SEV1")
    bed.wait_for(lambda: [t for t in incidents_channel_texts(bed) if "raised to *SEV1*" in t])
    bed.wait_for(lambda: bed.emulator.topic(inc["channel_id"]).startswith("SEV1"))


def test_denied_press_is_ephemeral_audited_and_opens_nothing(bed: Testbed) -> None:
    inc = declared(bed)
    for action in ("incident_severity", "incident_commander", "incident_resolve"):
        resp = press(bed, inc, action, who="carol")
        bed.driver.retry(resp, retry_num=1)  # a retry is neither answered nor audited twice
    told(bed, "may change the severity", who="carol")
    told(bed, "may resolve the incident", who="carol")
    text = told(bed, "may change the incident commander", who="carol")
    assert text.startswith("⚠️ Only the commander (<@")
    bed.wait_for(lambda: len(events(bed, "denied")) == 3)
    time.sleep(0.3)
    assert [e["data"]["what"] for e in events(bed, "denied")] == [
        "severity",
        "commander",
        "resolve",
    ]
    assert not bed.emulator.views()


def test_a_denied_submission_changes_nothing(bed: Testbed) -> None:
    """The modal was opened by the commander, then submitted by someone else (or the
    commander changed meanwhile): the submission is checked again."""
    inc = declared(bed)
    bed.emulator.add_member(inc["channel_id"], bed.people["dave"])
    press(bed, inc, "incident_severity")
    view = modal(bed, "incident_severity_view")
    bed.driver.view_submission(
        "incident_severity_view",
        {"severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV1"}}}},
        user_id=bed.people["dave"],
        view_id=view.id,
    )
    told(bed, "may change the severity", who="dave")
    assert incident(bed)["severity"] == "SEV2"
    assert [e["actor"] for e in events(bed, "denied")] == [bed.people["dave"]]


def test_assign_commander_with_a_user_picker(bed: Testbed) -> None:
    inc = declared(bed)
    bob = bed.people["bob"]
    press(bed, inc, "incident_commander")
    view = modal(bed, "incident_commander_view")
    [picker] = [b["element"] for b in view.blocks if b.get("block_id") == "commander"]
    assert picker["type"] == "users_select" and picker["initial_user"] == bed.people["alice"]
    bed.driver.view_submission(
        "incident_commander_view",
        {"commander": {"value": {"type": "users_select", "selected_user": bob}}},
        user_id=bed.people["alice"],
        view_id=view.id,
    )
    bed.wait_for(lambda: incident(bed)["commander_id"] == bob)
    bed.wait_for(lambda: bob in bed.emulator.members(inc["channel_id"]))
    bed.wait_for(lambda: f"<@{bob}>" in bed.emulator.topic(inc["channel_id"]))


def test_resolve_then_every_button_is_stale(bed: Testbed) -> None:
    inc = declared(bed)
    press(bed, inc, "incident_resolve")
    view = modal(bed, "incident_resolve_view")
    empty = bed.driver.view_submission(
        "incident_resolve_view",
        {"summary": {"value": ""}},
        user_id=bed.people["alice"],
        view_id=view.id,
    )
    assert "summary" in empty.json()["errors"]
    bed.driver.view_submission(
        "incident_resolve_view",
        {"summary": {"value": "Config reverted; error rate back to baseline."}},
        user_id=bed.people["alice"],
        view_id=view.id,
    )
    bed.wait_for(lambda: incident(bed)["status"] == "resolved")
    assert incident(bed)["summary"] == "Config reverted; error rate back to baseline."
    bed.wait_for(lambda: not [b for b in card(bed, inc).blocks if b["type"] == "actions"])
    opened = len(bed.emulator.views())

    # an old copy of the card (or a client that has not refreshed) still has buttons
    for action in BUTTONS:
        press(bed, inc, action, who="alice", block_id="card:1")
    bed.wait_for(
        lambda: sum("already resolved" in r.text for r in bed.emulator.responses()) >= len(BUTTONS)
    )
    assert len(bed.emulator.views()) == opened
    assert len(events(bed, "resolved")) == 1
    assert incident(bed)["acknowledged_at"] is None


def test_a_broken_button_value_is_answered(bed: Testbed) -> None:
    inc = declared(bed)
    bed.driver.block_action(
        "incident_ack",
        "not-a-number",
        user_id=bed.people["alice"],
        channel_id=inc["channel_id"],
        message_ts=inc["card_ts"],
    )
    told(bed, "does not name an incident")
    assert incident(bed)["acknowledged_at"] is None


def test_storage_down_during_a_press_is_explained(bed: Testbed) -> None:
    inc = declared(bed)
    bed.pg.stop()
    try:
        press(bed, inc, "incident_ack")
        told(bed, "Storage is unavailable", who="alice")
    finally:
        bed.pg.start()
    bed.wait_for(lambda: _reachable(bed), timeout=15)
    assert incident(bed)["acknowledged_at"] is None


def _reachable(bed: Testbed) -> bool:
    try:
        bed.rows("SELECT 1")
    except Exception:
        return False
    return True
