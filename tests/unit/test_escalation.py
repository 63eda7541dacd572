"""Which page of an escalation policy is due when: steps wait on the page actually sent,
the last repeats a bounded number of times, an acknowledgement stops everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incident.escalation import (
    DEFAULT_REPEAT,
    MAX_REPEATS,
    Due,
    Sent,
    due_page,
    next_page,
    time_to_acknowledge,
)
from incident.oncall import EscalationStep, parse_target

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
STEPS = (
    EscalationStep(parse_target("schedule:platform"), timedelta(minutes=5)),
    EscalationStep(parse_target("schedule:platform:next"), timedelta(minutes=10)),
    EscalationStep(parse_target("usergroup:S0PLATFORM")),
)


def test_step_one_is_due_at_once() -> None:
    assert next_page(STEPS, [], start=T0, acknowledged=False) == Due(0, 0, T0)
    assert due_page(STEPS, [], start=T0, acknowledged=False, now=T0) == Due(0, 0, T0)


def test_the_next_step_waits_on_the_page_actually_sent() -> None:
    sent = [Sent(0, 0, T0 + timedelta(minutes=2))]  # sent late (a replica was down)
    due = next_page(STEPS, sent, start=T0, acknowledged=False)
    assert due == Due(1, 0, T0 + timedelta(minutes=7))
    assert (
        due_page(STEPS, sent, start=T0, acknowledged=False, now=T0 + timedelta(minutes=6)) is None
    )
    assert due_page(STEPS, sent, start=T0, acknowledged=False, now=T0 + timedelta(minutes=7))


def test_no_burst_after_a_long_outage() -> None:
    sent = [Sent(0, 0, T0)]
    late = T0 + timedelta(hours=3)
    assert due_page(STEPS, sent, start=T0, acknowledged=False, now=late) == Due(
        1, 0, T0 + timedelta(minutes=5)
    )


def test_the_last_step_repeats_every_default_wait_up_to_the_cap() -> None:
    sent = [
        Sent(0, 0, T0),
        Sent(1, 0, T0 + timedelta(minutes=5)),
        Sent(2, 0, T0 + timedelta(minutes=15)),
    ]
    due = next_page(STEPS, sent, start=T0, acknowledged=False)
    assert due == Due(2, 1, T0 + timedelta(minutes=15) + DEFAULT_REPEAT) and due.repeat
    for r in range(1, MAX_REPEATS + 1):
        sent.append(Sent(2, r, T0 + timedelta(minutes=15 + 5 * r)))
    assert next_page(STEPS, sent, start=T0, acknowledged=False) is None


def test_the_last_step_repeats_every_its_own_wait() -> None:
    steps = (EscalationStep(parse_target("user:U0AAA"), timedelta(minutes=3)),)
    assert next_page(steps, [Sent(0, 0, T0)], start=T0, acknowledged=False) == Due(
        0, 1, T0 + timedelta(minutes=3)
    )


def test_acknowledged_or_resolved_pages_nobody() -> None:
    assert next_page(STEPS, [], start=T0, acknowledged=True) is None
    assert next_page(STEPS, [], start=T0, acknowledged=False, open_=False) is None


def test_a_policy_that_shrank_counts_a_sent_step_beyond_it_as_the_last() -> None:
    steps = STEPS[:1]
    sent = [Sent(0, 0, T0), Sent(1, 0, T0 + timedelta(minutes=5))]
    assert next_page(steps, sent, start=T0, acknowledged=False) == Due(
        0, 1, T0 + timedelta(minutes=10)
    )


def test_keys_are_the_same_on_every_replica() -> None:
    assert Due(1, 0, T0).key(7) == "page:7:1:0"
    assert Due(2, 3, T0).key(7) == "page:7:2:3"


def test_time_to_acknowledge_counts_from_the_first_page() -> None:
    ack = T0 + timedelta(minutes=9)
    assert time_to_acknowledge(T0, ack, T0 + timedelta(minutes=4)) == timedelta(minutes=5)
    assert time_to_acknowledge(T0, ack, None) == timedelta(minutes=9)
    assert time_to_acknowledge(T0, ack, ack + timedelta(minutes=1)) == timedelta(minutes=9)
    assert time_to_acknowledge(T0, None, T0) is None
