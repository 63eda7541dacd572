"""Paging from the catalog's escalation policies: step 1 on declare (a DM with Acknowledge and
an invitation), the next steps when nobody acknowledges, once across replicas, stopped by the
DM's button; `/incident oncall` and `/incident page`; handoffs and overrides; once
acknowledged, every page DM says by whom and when, without its button."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from warroom_sandbox.testbed import Testbed
from warroom_sandbox.testbed_second import start_second_app

from bot.adapters.catalog.store import CatalogStore
from bot.services import Services
from tests.e2e import loop_rounds
from tests.e2e.test_declare import setup_finished
from tests.e2e.test_lifecycle import events

TICK_S = 0.05
HANDOFF_DAY = datetime(2030, 1, 7, tzinfo=UTC)  # a Monday, far from every other test's "now"


def catalog_yaml(bed: Testbed) -> str:
    p = bed.people
    return f"""\
oncall:
  schedules:
    platform:
      timezone: UTC
      rotation:
        {{start: 2026-01-05, every: 1d, handoff: "09:00", people: [{p["carol"]}, {p["dave"]}]}}
      overrides:
        - {{user: {p["erin"]}, from: "2030-02-01T00:00:00Z", to: "2030-02-02T00:00:00Z"}}
  escalations:
    platform:
      - {{notify: "schedule:platform", wait: 5m}}
      - {{notify: "schedule:platform:next", wait: 10m}}
      - {{notify: "usergroup:oncall"}}
    handoff:
      - {{notify: "schedule:platform", wait: 5m}}
      - {{notify: "schedule:platform", wait: 5m}}
services:
  - {{name: checkout, health_url: "http://127.0.0.1:9/health", escalation: platform}}
  - {{name: search, health_url: "http://127.0.0.1:9/health", escalation: handoff}}
  - {{name: billing, health_url: "http://127.0.0.1:9/health"}}
"""


@pytest.fixture
def paging(bed: Testbed, tmp_path: Path) -> Iterator[Testbed]:
    path = tmp_path / "catalog.yaml"
    path.write_text(catalog_yaml(bed))
    bed.services.catalog = CatalogStore.load(path)
    bed.emulator.add_usergroup("oncall", [bed.people["bob"]])
    old = (bed.settings.reminder_interval_s, bed.clock._offset)
    bed.settings.reminder_interval_s = TICK_S
    yield bed
    bed.settings.reminder_interval_s = old[0]
    bed.clock._offset = old[1]


def at(bed: Testbed, instant: datetime) -> None:
    """Move the shared clock to ``instant`` (tests put it back)."""
    bed.clock.advance(instant - bed.clock.now())


def settle(*services: Services) -> None:
    """Several whole escalation ticks of every replica named: no page is due to come."""
    loop_rounds.settle("escalations", *services)


def dms(bed: Testbed, user: str) -> list:
    channels = bed.emulator.snapshot(include_calls=False)["channels"]
    ims = [c["id"] for c in channels if c.get("is_im") and c.get("im_user") == user]
    return [(im, m) for im in ims for m in bed.emulator.messages(im)]


def members(bed: Testbed, channel: str) -> list[str]:
    channels = bed.emulator.snapshot(include_calls=False)["channels"]
    return next(c["members"] for c in channels if c["id"] == channel)


def declare(bed: Testbed, service: str, number: int = 1) -> dict:
    general = bed.emulator.channel_by_name("general").id
    bed.driver.command(
        f"declare SEV2 Checkout <errors> --service {service}",
        user_id=bed.people["alice"],
        channel_id=general,
    )
    return bed.wait_for(lambda: setup_finished(bed, number))


def on_call_now(bed: Testbed) -> tuple[str, str]:
    from incident.oncall import on_call, on_call_next

    schedule = bed.services.catalog.current.schedules()["platform"]
    now = bed.clock.now()
    return on_call(schedule, now), on_call_next(schedule, now)


def test_no_replica_pages_before_the_incident_has_its_channel(paging: Testbed) -> None:
    """Another replica's escalation loop sees the incident as soon as it is stored, while the
    declaring replica still creates its channel: it leaves step 1 to the declaring replica,
    so the page links the channel and invites into it."""
    bed = paging
    second = start_second_app(bed)
    try:
        at(bed, HANDOFF_DAY + timedelta(hours=12))
        first, _ = on_call_now(bed)
        bed.emulator.fail("conversations.create", delay=1.5, times=1)  # a slow channel step
        general = bed.emulator.channel_by_name("general").id
        bed.driver.command(
            "declare SEV2 Checkout <errors> --service checkout",
            user_id=bed.people["alice"],
            channel_id=general,
        )
        bed.wait_for(lambda: bed.rows("SELECT number FROM incidents"))
        settle(bed.services, second.services)  # several ticks of both loops meanwhile
        assert bed.rows("SELECT channel_id FROM incidents")[0]["channel_id"] is None
        assert not dms(bed, first) and not events(bed, "page")
        inc = bed.wait_for(lambda: setup_finished(bed, 1))
        [(_, dm)] = bed.wait_for(lambda: dms(bed, first))
        assert f"<#{inc['channel_id']}>" in str(dm.blocks)
        assert first in members(bed, inc["channel_id"])
    finally:
        second.stop()
        bed.emulator.clear_faults()


def test_declare_pages_step_one_then_step_two_once_then_ack_stops_it(paging: Testbed) -> None:
    bed = paging
    second = start_second_app(bed)
    try:
        at(bed, HANDOFF_DAY + timedelta(hours=12))  # carol's or dave's day, far from a handoff
        first, nxt = on_call_now(bed)
        inc = declare(bed, "checkout")
        ch = inc["channel_id"]
        [(_, dm)] = bed.wait_for(lambda: dms(bed, first))
        assert "You are paged" in dm.text and "&lt;errors&gt;" in dm.text
        [button] = [e for b in dm.blocks if b["type"] == "actions" for e in b["elements"]]
        assert button["action_id"] == "incident_ack" and button["value"] == str(inc["number"])
        assert f"<#{ch}>" in str(dm.blocks)
        assert first in members(bed, ch)
        assert len(events(bed, "page")) == 1
        settle(bed.services, second.services)
        assert not dms(bed, nxt) and len(dms(bed, first)) == 1
        # the ordinary ack escalation is left to the policy
        assert not events(bed, "escalation")

        bed.clock.advance(timedelta(minutes=5, seconds=1))
        bed.wait_for(lambda: dms(bed, nxt))
        settle(bed.services, second.services)
        assert len(dms(bed, nxt)) == 1 and len(dms(bed, first)) == 1
        assert [e["data"]["step"] for e in events(bed, "page")] == [0, 1]
        rows = bed.rows("SELECT step, round, ref FROM pages ORDER BY id")
        assert [(r["step"], r["ref"]) for r in rows] == [(0, first), (1, nxt)]

        im2, dm2 = dms(bed, nxt)[0]
        bed.driver.block_action(
            "incident_ack", str(inc["number"]), user_id=nxt, channel_id=im2, message_ts=dm2.ts
        )
        bed.wait_for(lambda: events(bed, "acknowledged"))
        bed.wait_for(
            lambda: "acknowledged" in bed.emulator.message(ch, inc["card_ts"]).text.lower()
        )
        bed.clock.advance(timedelta(minutes=30))
        settle(bed.services, second.services)
        assert len(events(bed, "page")) == 2
        assert len(events(bed, "acknowledged")) == 1
        assert not [m for m in bed.emulator.messages(ch) if "<!subteam^" in m.text]
    finally:
        second.stop()


def test_the_last_step_pages_the_group_in_the_channel_and_repeats(paging: Testbed) -> None:
    bed = paging
    at(bed, HANDOFF_DAY + timedelta(hours=12))
    inc = declare(bed, "checkout")
    ch = inc["channel_id"]
    bed.wait_for(lambda: len(events(bed, "page")) == 1)
    bed.clock.advance(timedelta(minutes=5, seconds=1))
    bed.wait_for(lambda: len(events(bed, "page")) == 2)
    bed.clock.advance(timedelta(minutes=10, seconds=1))
    bed.wait_for(lambda: len(events(bed, "page")) == 3)
    group = bed.wait_for(lambda: [m for m in bed.emulator.messages(ch) if "<!subteam^" in m.text])
    assert "📟" in group[0].text
    assert bed.people["bob"] in members(bed, ch)
    assert not dms(bed, bed.people["bob"])
    bed.clock.advance(timedelta(minutes=5, seconds=1))
    bed.wait_for(lambda: len(events(bed, "page")) == 4)
    repeats = bed.wait_for(
        lambda: [
            m for m in bed.emulator.messages(ch) if m.text.startswith("🚨") and "repeat 1" in m.text
        ]
    )
    assert "<!subteam^" in repeats[0].text


def test_paging_across_a_handoff_pages_whoever_is_on_call_then(paging: Testbed) -> None:
    bed = paging
    at(bed, HANDOFF_DAY + timedelta(hours=8, minutes=58))
    before, after = on_call_now(bed)
    assert before != after
    declare(bed, "search")
    bed.wait_for(lambda: dms(bed, before))
    bed.clock.advance(timedelta(minutes=5, seconds=1))  # 09:03: the handoff happened
    bed.wait_for(lambda: dms(bed, after))
    assert [r["ref"] for r in bed.rows("SELECT ref FROM pages ORDER BY id")] == [before, after]


def test_an_override_is_paged_instead_of_the_rotation(paging: Testbed) -> None:
    bed = paging
    at(bed, datetime(2030, 2, 1, 12, tzinfo=UTC))
    declare(bed, "checkout")
    bed.wait_for(lambda: dms(bed, bed.people["erin"]))
    assert not dms(bed, bed.people["carol"]) and not dms(bed, bed.people["dave"])


def test_a_service_without_policy_pages_nobody(paging: Testbed) -> None:
    bed = paging
    declare(bed, "billing")
    settle(bed.services)
    assert bed.rows("SELECT * FROM pages") == []
    assert not events(bed, "page")


def test_oncall_lists_every_schedule_with_local_times(paging: Testbed) -> None:
    bed = paging
    at(bed, HANDOFF_DAY + timedelta(hours=12))
    general = bed.emulator.channel_by_name("general").id
    first, nxt = on_call_now(bed)
    text = bed.driver.command("oncall", user_id=bed.people["alice"], channel_id=general).json()[
        "text"
    ]
    assert "*platform*" in text and f"<@{first}> is on call" in text and f"to <@{nxt}>" in text
    handoff = int((HANDOFF_DAY + timedelta(days=1, hours=9)).timestamp())
    assert f"<!date^{handoff}^" in text
    text = bed.driver.command(
        "oncall nope", user_id=bed.people["alice"], channel_id=general
    ).json()["text"]
    assert "no schedule `nope`" in text and "`platform`" in text


def test_page_by_hand_sends_a_dm_with_acknowledge_and_goes_on_the_timeline(
    paging: Testbed,
) -> None:
    bed = paging
    inc = declare(bed, "billing")
    ch = inc["channel_id"]
    dave = bed.people["dave"]
    bed.driver.command(
        "page @dave the database is on fire", user_id=bed.people["alice"], channel_id=ch
    )
    [(_, dm)] = bed.wait_for(lambda: dms(bed, dave))
    assert "the database is on fire" in dm.text or "the database is on fire" in str(dm.blocks)
    assert "incident_ack" in str(dm.blocks)
    [event] = events(bed, "page")
    assert event["actor"] == bed.people["alice"] and event["text"] == "the database is on fire"
    assert dave in members(bed, ch)
    [row] = bed.rows("SELECT step, paged_by FROM pages")
    assert row["step"] is None and row["paged_by"] == bed.people["alice"]


# -- the DM after the acknowledgement ----------------------------------------------------------


def actions_of(message) -> list:
    return [b for b in message.blocks or [] if b["type"] == "actions"]


def dm_now(bed: Testbed, im: str, ts: str):
    return bed.emulator.message(im, ts)


def dm_updates(bed: Testbed, *ims: str) -> list:
    return [c for c in bed.emulator.calls("chat.update") if c.args.get("channel") in ims]


def acked_dm(bed: Testbed, im: str, ts: str, acker: str) -> bool:
    """The DM edited: no button, the acknowledger named, the time in the reader's zone."""
    dm = dm_now(bed, im, ts)
    return not actions_of(dm) and f"<@{acker}>" in str(dm.blocks) and "<!date^" in str(dm.blocks)


def test_acknowledging_with_the_dm_button_edits_every_page_dm(paging: Testbed) -> None:
    bed = paging
    at(bed, HANDOFF_DAY + timedelta(hours=12))
    first, nxt = on_call_now(bed)
    inc = declare(bed, "checkout")
    [(im1, dm1)] = bed.wait_for(lambda: dms(bed, first))
    bed.clock.advance(timedelta(minutes=5, seconds=1))
    [(im2, dm2)] = bed.wait_for(lambda: dms(bed, nxt))
    assert actions_of(dm1) and actions_of(dm2)
    bed.driver.block_action(
        "incident_ack", str(inc["number"]), user_id=nxt, channel_id=im2, message_ts=dm2.ts
    )
    bed.wait_for(lambda: events(bed, "acknowledged"))
    for im, dm in ((im1, dm1), (im2, dm2)):
        bed.wait_for(lambda im=im, dm=dm: acked_dm(bed, im, dm.ts, nxt))
        edited = dm_now(bed, im, dm.ts)
        assert "&lt;errors&gt;" in str(edited.blocks)  # the title still escaped
        assert "acknowledged" in edited.text.lower()
    acked_at = bed.rows("SELECT acknowledged_at FROM incidents")[0]["acknowledged_at"]
    assert f"<!date^{int(acked_at.timestamp())}^" in str(dm_now(bed, im1, dm1.ts).blocks)
    settle(bed.services)
    assert len(dm_updates(bed, im1, im2)) == 2  # each DM edited once
    assert len(events(bed, "acknowledged")) == 1


def _paged_dave(bed: Testbed, message: str) -> tuple[str, str, Any, Any]:
    """Alice declares a billing incident and pages dave: (channel, alice, dave's DM, the DM)."""
    ch = declare(bed, "billing")["channel_id"]
    alice = bed.people["alice"]
    bed.driver.command(f"page @dave {message}", user_id=alice, channel_id=ch)
    [(im, dm)] = bed.wait_for(lambda: dms(bed, bed.people["dave"]))
    return ch, alice, im, dm


def test_acknowledging_with_the_command_edits_the_page_dm(paging: Testbed) -> None:
    bed = paging
    ch, alice, im, dm = _paged_dave(bed, "disk <!channel> full")
    assert actions_of(dm)
    answer = bed.driver.command("ack", user_id=alice, channel_id=ch).json()
    assert "acknowledged" in answer["text"].lower()
    bed.wait_for(lambda: acked_dm(bed, im, dm.ts, alice))
    edited = dm_now(bed, im, dm.ts)
    assert "&lt;!channel&gt;" in str(edited.blocks) and "<!channel>" not in str(edited.blocks)
    assert f"<@{alice}>" in edited.text


def test_a_slack_failure_on_the_dm_edit_leaves_the_acknowledgement(paging: Testbed) -> None:
    bed = paging
    ch, alice, im, dm = _paged_dave(bed, "look")
    bed.emulator.fail("chat.update", error="message_not_found", times=None)
    try:
        answer = bed.driver.command("ack", user_id=alice, channel_id=ch).json()
        assert "acknowledged" in answer["text"].lower() and "Traceback" not in answer["text"]
        bed.wait_for(lambda: events(bed, "acknowledged"))
        bed.wait_for(lambda: dm_updates(bed, im))
        settle(bed.services)
    finally:
        bed.emulator.clear_faults()
    settle(bed.services)
    assert actions_of(dm_now(bed, im, dm.ts))  # tried once, not again
    assert len(dm_updates(bed, im)) == 1
    assert len(events(bed, "acknowledged")) == 1
    assert bed.rows("SELECT acknowledged_at FROM incidents")[0]["acknowledged_at"] is not None


def test_the_acknowledged_dm_builder_escapes_and_has_no_button() -> None:
    from bot.slack.ui.oncall import page_dm_acknowledged
    from incident.models import Incident

    inc = Incident(number=7, title="<!here> db", severity="SEV1", channel_id="C1", service=None)
    when = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
    text, blocks = page_dm_acknowledged(inc, acked_by="<!channel>", acked_at=when, message="<b>")
    shown = str(blocks)
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "<!here>" not in shown and "<!channel>" not in shown and "<!channel>" not in text
    assert "&lt;!channel&gt;" in shown and "2030-01-07 12:00 UTC" in shown
    _, blocks = page_dm_acknowledged(inc, acked_by="U123ABC", acked_at=when)
    assert "by <@U123ABC>" in str(blocks) and f"<!date^{int(when.timestamp())}^" in str(blocks)
