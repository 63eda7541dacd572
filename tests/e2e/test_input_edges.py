"""Every input edge answers plainly: an id longer than its column, a number no one means
(`²`, `١٢`, past Postgres' integer), a payload without the fields Slack always sends. The
person gets a sentence or Slack gets a 400; never "Storage is unavailable", never a 500."""

from __future__ import annotations

import json

import httpx
from warroom_sandbox.slack_driver import FORM
from warroom_sandbox.testbed import Testbed

from tests.e2e.test_card_buttons import modal, press, told
from tests.e2e.test_lifecycle import declared, events, incident, text_of

HUGE = "9" * 30
TOO_LONG_USER = "U" + "A" * 40  # users.commander_id and friends are String(32)
TOO_LONG_CHANNEL = "C" + "A" * 40


def command(bed: Testbed, text: str, channel: str | None = None) -> str:
    general = bed.emulator.channel_by_name("general").id
    return text_of(
        bed.driver.command(text, user_id=bed.people["alice"], channel_id=channel or general)
    )


def stored(bed: Testbed) -> tuple[int, int]:
    counts = bed.rows(
        "SELECT (SELECT count(*) FROM incidents) AS i, (SELECT count(*) FROM timeline_events) AS t"
    )[0]
    return counts["i"], counts["t"]


def test_a_number_is_ascii_digits_within_bounds(bed: Testbed) -> None:
    inc = declared(bed)
    ch = inc["channel_id"]
    before = stored(bed)
    assert "The page is a number" in command(bed, "timeline ²", ch)
    assert "The page is a number" in command(bed, "timeline ١", ch)
    assert f"There is no incident #{HUGE}" in command(bed, f"ack {HUGE}")
    assert "There is no incident #2147483648" in command(bed, "ack 2147483648")
    # `²` is no incident number: the person hears how to name one, not a 404 3 s later
    assert "not an incident channel" in command(bed, "ack ²")
    scale = command(bed, "scale api ²", ch)
    assert "whole number written with the digits 0-9" in scale and "`²`" in scale
    assert "between 0 and 2147483647" in command(bed, f"scale api {HUGE}", ch)
    rollback = command(bed, "rollback api --to-revision ١٢", ch)
    assert "`--to-revision` takes a revision number, not `١٢`" in rollback
    assert stored(bed) == before
    # the one reading still reads what people mean
    assert "#1" in command(bed, "timeline 1", ch)


def test_a_button_or_form_naming_no_possible_incident_is_answered(bed: Testbed) -> None:
    inc = declared(bed)
    for value in (HUGE, "²", "-1", "1.0"):
        resp = bed.driver.block_action(
            "incident_ack",
            value,
            user_id=bed.people["alice"],
            channel_id=inc["channel_id"],
            message_ts=inc["card_ts"],
        )
        assert resp.status_code == 200
    told(bed, "does not name an incident")
    confirm = bed.driver.block_action(
        "incident_resolve_confirm",
        f"{HUGE}:",
        user_id=bed.people["alice"],
        channel_id=inc["channel_id"],
    )
    assert confirm.status_code == 200
    resp = bed.driver.view_submission(
        "incident_severity_view",
        {"severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV1"}}}},
        user_id=bed.people["alice"],
        private_metadata=json.dumps({"n": int(HUGE), "c": inc["channel_id"]}),
    )
    assert resp.status_code == 200
    assert "does not name an incident" in json.dumps(resp.json()["errors"])
    assert incident(bed)["acknowledged_at"] is None
    assert incident(bed)["status"] == "investigating" and incident(bed)["severity"] == "SEV2"


def test_a_picked_user_that_is_no_user_id_is_an_inline_error(bed: Testbed) -> None:
    inc = declared(bed)
    press(bed, inc, "incident_commander")
    view = modal(bed, "incident_commander_view")
    resp = bed.driver.view_submission(
        "incident_commander_view",
        {"commander": {"value": {"type": "users_select", "selected_user": TOO_LONG_USER}}},
        user_id=bed.people["alice"],
        view_id=view.id,
    )
    assert resp.status_code == 200
    assert resp.json()["errors"] == {"commander": "Pick the new incident commander."}
    assert incident(bed)["commander_id"] == bed.people["alice"]
    assert events(bed, "commander") == []
    # typed, the same id is not found rather than stored
    answer = command(bed, f"ic {TOO_LONG_USER}", inc["channel_id"])
    assert "could not find" in answer and "Storage" not in answer


def test_ids_no_slack_would_send_are_refused_with_400(bed: Testbed) -> None:
    general = bed.emulator.channel_by_name("general").id
    alice = bed.people["alice"]
    before = stored(bed)
    for user, channel in ((TOO_LONG_USER, general), (alice, TOO_LONG_CHANNEL), ("u1", general)):
        resp = bed.driver.command("declare SEV1 ghost", user_id=user, channel_id=channel)
        assert resp.status_code == 400, (user, channel)
    resp = bed.driver.block_action("incident_ack", "1", user_id=TOO_LONG_USER, channel_id=general)
    assert resp.status_code == 400
    assert stored(bed) == before
    assert bed.emulator.responses() == []


def test_payloads_without_required_fields_are_400_not_500(bed: Testbed) -> None:
    user = {"id": bed.people["alice"], "username": "alice", "team_id": "T0001"}
    view = {
        "type": "modal",
        "id": "VEDGE1",
        "callback_id": "declare_incident",
        "private_metadata": "",
    }
    cases = {
        "view_submission without state": {"type": "view_submission", "user": user, "view": view},
        "view_submission without values": {
            "type": "view_submission",
            "user": user,
            "view": {**view, "state": {}},
        },
        "block_actions without actions": {"type": "block_actions", "user": user},
        "block_actions, empty actions": {"type": "block_actions", "user": user, "actions": []},
        "a value longer than Slack's 2000": {
            "type": "block_actions",
            "user": user,
            "actions": [{"action_id": "incident_ack", "value": "1" * 2001, "action_ts": "1.1"}],
        },
    }
    for name, payload in cases.items():
        body = httpx.QueryParams({"payload": json.dumps(payload)}).__str__().encode()
        resp = bed.driver.send(body, FORM)
        assert resp.status_code == 400, name
        assert resp.json() == {"error": "malformed request"}, name
    assert stored(bed) == (0, 0)


def test_a_mistyped_subcommand_suggests_the_nearest(bed: Testbed) -> None:
    assert "Did you mean `rollback`?" in command(bed, "rollbak api")
    assert "Did you mean `declare`?" in command(bed, "delcare SEV1 x")
    assert "Did you mean `timeline`?" in command(bed, "timline")
    unknown = command(bed, "frobnicate")
    assert "Unknown subcommand `frobnicate`" in unknown and "Did you mean" not in unknown
