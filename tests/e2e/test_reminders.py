"""Reminders: ack escalations, update nudges and "resolve?" suggestions, sent once across
replicas and restarts, with time moved by the shared clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from warroom_sandbox.testbed import Testbed
from warroom_sandbox.testbed_second import start_second_app

from bot.services import Services
from incident import reminders
from incident.models import Incident, TimelineEvent
from incident.severity import DEFAULT_POLICY
from tests.e2e import loop_rounds
from tests.e2e.test_lifecycle import declared, events, incidents_channel_texts

TICK_S = 0.05


@pytest.fixture
def fast(bed: Testbed) -> Iterator[Testbed]:
    """Tick every 50 ms and page the `oncall` group."""
    old = (bed.settings.reminder_interval_s, bed.settings.oncall_group)
    bed.settings.reminder_interval_s = TICK_S
    bed.settings.oncall_group = "oncall"
    bed.emulator.add_usergroup("oncall", [bed.people["erin"]])
    yield bed
    bed.settings.reminder_interval_s, bed.settings.oncall_group = old


def oncall_id(bed: Testbed) -> str:
    groups = bed.emulator.snapshot(include_calls=False)["usergroups"]
    return next(g["id"] for g in groups if g["handle"] == "oncall")


def escalations(bed: Testbed, channel: str) -> list[str]:
    return [m.text for m in bed.emulator.messages(channel) if m.text.startswith("🚨 Incident")]


def announced(bed: Testbed) -> list[str]:
    return [t for t in incidents_channel_texts(bed) if t.startswith("🚨 Escalation")]


def nudges(bed: Testbed, channel: str) -> list[str]:
    return [m.text for m in bed.emulator.messages(channel) if m.text.startswith("⏰")]


def settle(*services: Services) -> None:
    """Several whole reminder ticks of every replica named: nothing more is due to come."""
    loop_rounds.settle("reminders", *services)


def test_unacknowledged_incident_escalates_once_per_deadline(fast: Testbed) -> None:
    bed = fast
    inc = declared(bed, sev="SEV1")
    ch = inc["channel_id"]
    bed.clock.advance(timedelta(minutes=4))
    settle(bed.services)
    assert not escalations(bed, ch)

    bed.clock.advance(timedelta(minutes=1, seconds=5))
    [first] = bed.wait_for(lambda: escalations(bed, ch))
    assert f"<!subteam^{oncall_id(bed)}>" in first and "/incident ack" in first
    [loud] = bed.wait_for(lambda: announced(bed))
    assert f"<#{ch}>" in loud and f"<!subteam^{oncall_id(bed)}>" in loud
    settle(bed.services)
    assert len(escalations(bed, ch)) == 1 and len(announced(bed)) == 1
    [event] = events(bed, "escalation")
    assert event["data"]["group"] == "oncall" and event["data"]["count"] == 1
    declared_at = inc["declared_at"]
    assert (
        event["dedupe_key"] == f"reminder:ack:1:{(declared_at + timedelta(minutes=5)).isoformat()}"
    )

    bed.clock.advance(timedelta(minutes=5))
    bed.wait_for(lambda: len(escalations(bed, ch)) == 2)
    assert "(escalation 2)" in escalations(bed, ch)[-1]

    bed.driver.command("ack", user_id=bed.people["alice"], channel_id=ch)
    bed.clock.advance(timedelta(minutes=5, seconds=1))
    settle(bed.services)
    assert len(escalations(bed, ch)) == 2
    assert len(events(bed, "escalation")) == 2


def test_escalation_is_sent_once_by_two_replicas(fast: Testbed) -> None:
    bed = fast
    second = start_second_app(bed)
    try:
        inc = declared(bed, sev="SEV1")
        ch = inc["channel_id"]
        bed.clock.advance(timedelta(minutes=5, seconds=1))
        bed.wait_for(lambda: escalations(bed, ch) and announced(bed))
        settle(bed.services, second.services)
        assert len(escalations(bed, ch)) == 1
        assert len(announced(bed)) == 1
        assert len(events(bed, "escalation")) == 1
        # the second replica answers Slack too: a command there stops the next one
        second.driver.command("ack", user_id=bed.people["bob"], channel_id=ch)
        bed.wait_for(
            lambda: bed.rows("SELECT acknowledged_at FROM incidents")[0]["acknowledged_at"]
        )
        bed.clock.advance(timedelta(minutes=5))
        settle(bed.services, second.services)
        assert len(escalations(bed, ch)) == 1
    finally:
        second.stop()


def test_a_restart_loses_no_pending_reminder(fast: Testbed) -> None:
    bed = fast
    bed.services.reminders_paused = True  # only the replicas below run reminders
    first = start_second_app(bed)
    inc = declared(bed, sev="SEV2")
    ch = inc["channel_id"]
    bed.clock.advance(timedelta(minutes=10))
    settle(first.services)
    assert not escalations(bed, ch)
    first.stop()  # deploy: the deadline passes while no replica runs
    bed.clock.advance(timedelta(minutes=6))
    time.sleep(0.5)
    assert not escalations(bed, ch)
    replacement = start_second_app(bed)
    try:
        bed.wait_for(lambda: escalations(bed, ch))
        settle(replacement.services)
        assert len(escalations(bed, ch)) == 1
        assert len(announced(bed)) == 1
    finally:
        replacement.stop()


def test_update_cadence_nudges_the_commander(fast: Testbed) -> None:
    bed = fast
    inc = declared(bed, sev="SEV2")
    ch, alice = inc["channel_id"], bed.people["alice"]
    bed.driver.command("ack", user_id=alice, channel_id=ch)
    bed.clock.advance(timedelta(minutes=30, seconds=1))
    [nudge] = bed.wait_for(lambda: nudges(bed, ch))
    assert (
        nudge.startswith(f"⏰ <@{alice}>, incident #1 has had no update") and "every 30m" in nudge
    )
    settle(bed.services)
    assert len(nudges(bed, ch)) == 1
    [reminder] = events(bed, "reminder")
    assert reminder["data"]["kind"] == "update"

    bed.driver.command("update Still digging", user_id=bed.people["bob"], channel_id=ch)
    bed.clock.advance(timedelta(minutes=20))
    settle(bed.services)
    assert len(nudges(bed, ch)) == 1
    bed.clock.advance(timedelta(minutes=11))
    bed.wait_for(lambda: len(nudges(bed, ch)) == 2)


def test_quiet_monitoring_suggests_resolving_with_a_button(fast: Testbed) -> None:
    bed = fast
    inc = declared(bed, sev="SEV3")
    ch, alice = inc["channel_id"], bed.people["alice"]
    bed.driver.command("status monitoring", user_id=alice, channel_id=ch)
    bed.clock.advance(timedelta(minutes=29))
    settle(bed.services)
    assert not _suggestions(bed, ch)
    bed.clock.advance(timedelta(minutes=1, seconds=1))
    [msg] = bed.wait_for(lambda: _suggestions(bed, ch))
    [actions] = [b for b in msg.blocks if b["type"] == "actions"]
    [resolve] = actions["elements"]
    assert resolve["action_id"] == "incident_resolve" and resolve["value"] == "1"
    assert resolve["confirm"]
    settle(bed.services)
    assert len(_suggestions(bed, ch)) == 1

    bed.driver.block_action(
        "incident_resolve", "1", user_id=alice, channel_id=ch, message_ts=msg.ts
    )
    bed.wait_for(
        lambda: [v for v in bed.emulator.views() if v.callback_id == "incident_resolve_view"]
    )


def test_a_reminder_slack_refused_is_sent_on_a_later_tick(fast: Testbed) -> None:
    bed = fast
    inc = declared(bed, sev="SEV1")
    ch = inc["channel_id"]
    bed.emulator.fail("chat.postMessage", error="fatal_error", times=2)
    bed.clock.advance(timedelta(minutes=5, seconds=1))
    bed.wait_for(lambda: escalations(bed, ch))
    settle(bed.services)
    assert len(escalations(bed, ch)) == 1
    assert len(events(bed, "escalation")) == 1
    failed = [c for c in bed.emulator.calls("chat.postMessage") if c.fault]
    assert len(failed) == 2


def _suggestions(bed: Testbed, channel: str) -> list:
    return [m for m in bed.emulator.messages(channel) if m.text.startswith("👀")]


# -- the pure rules ------------------------------------------------------------------------

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _incident(**kw: object) -> Incident:
    base = {
        "number": 7,
        "title": "t",
        "severity": "SEV1",
        "status": "investigating",
        "commander_id": "U1",
        "reporter_id": "U1",
        "declared_at": T0,
        "acknowledged_at": None,
        "mitigated_at": None,
        "resolved_at": None,
        "last_update_at": None,
    }
    return Incident(**{**base, **kw})


def _event(minutes: float, kind: str, **data: object) -> TimelineEvent:
    return TimelineEvent(
        id=int(minutes * 100), occurred_at=T0 + timedelta(minutes=minutes), kind=kind, data=data
    )


def test_only_the_latest_missed_deadline_is_due() -> None:
    inc = _incident()
    assert reminders.due_reminders(inc, [], DEFAULT_POLICY, T0 + timedelta(minutes=4)) == []
    [ack] = reminders.due_reminders(inc, [], DEFAULT_POLICY, T0 + timedelta(minutes=5))
    assert (ack.kind, ack.due, ack.count) == ("ack", T0 + timedelta(minutes=5), 1)
    due = reminders.due_reminders(inc, [], DEFAULT_POLICY, T0 + timedelta(minutes=62))
    assert {d.kind: (d.due, d.count) for d in due} == {
        "ack": (T0 + timedelta(minutes=60), 12),
        "update": (T0 + timedelta(minutes=60), 4),
    }


def test_nothing_is_due_for_sev4_acknowledged_or_resolved() -> None:
    later = T0 + timedelta(days=2)
    assert reminders.due_reminders(_incident(severity="SEV4"), [], DEFAULT_POLICY, later) == []
    acked = _incident(acknowledged_at=T0, last_update_at=later - timedelta(minutes=1))
    assert reminders.due_reminders(acked, [], DEFAULT_POLICY, later) == []
    assert reminders.due_reminders(_incident(status="resolved"), [], DEFAULT_POLICY, later) == []


def test_monitoring_window_restarts_on_a_new_problem() -> None:
    inc = _incident(severity="SEV4", status="monitoring", mitigated_at=T0)
    history = [
        _event(1, "status", before="investigating", after="monitoring"),
        _event(10, "severity", before="SEV4", after="SEV3"),
    ]
    assert reminders.monitoring_since(inc, history) == T0 + timedelta(minutes=10)
    assert reminders.due_reminders(inc, history, DEFAULT_POLICY, T0 + timedelta(minutes=39)) == []
    [due] = reminders.due_reminders(inc, history, DEFAULT_POLICY, T0 + timedelta(minutes=40))
    assert due.kind == "monitoring"
    again = [
        *history,
        _event(50, "update", status="investigating"),
        _event(60, "update", status="monitoring"),
    ]
    assert reminders.monitoring_since(inc, again) == T0 + timedelta(minutes=60)
