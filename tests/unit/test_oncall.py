"""On call: who holds the pager at a given instant, when it changes hands, whom a step pages,
and the strict readings of durations, handoffs and targets."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from incident.oncall import (
    Override,
    ResolvedTarget,
    Rotation,
    Schedule,
    Target,
    handoff_at,
    next_handoff,
    on_call,
    on_call_next,
    parse_duration,
    parse_handoff,
    parse_target,
    parse_user_id,
    resolve_target,
)

BERLIN = ZoneInfo("Europe/Berlin")
A, B, C, D, E = "U0AAA", "U0BBB", "U0CCC", "U0DDD", "U0EEE"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def weekly(
    *overrides: Override, start: date = date(2026, 11, 30), people: tuple[str, ...] = (A, B, C)
) -> Schedule:
    """Mondays 09:00 Berlin, first handoff Monday 2026-11-30."""
    rotation = Rotation(start, timedelta(weeks=1), 0, time(9), people)
    return Schedule("platform", BERLIN, rotation, overrides)


def daily(start: date, people: tuple[str, ...] = (A, B), at: time = time(9)) -> Schedule:
    return Schedule("ops", BERLIN, Rotation(start, timedelta(days=1), None, at, people))


# --- rotations -----------------------------------------------------------------------------


def test_weekly_rotation_hands_off_monday_at_nine_and_cycles() -> None:
    s = weekly()
    assert on_call(s, berlin("2026-11-30T08:59:59")) == C  # before the first handoff: people[-1]
    assert on_call(s, berlin("2026-11-30T09:00:00")) == A  # people[0] from the first handoff
    assert on_call(s, berlin("2026-12-04T23:00:00")) == A
    assert on_call(s, berlin("2026-12-07T08:59:59")) == A
    assert on_call(s, berlin("2026-12-07T09:00:00")) == B
    assert on_call(s, berlin("2026-12-14T09:00:00")) == C
    assert on_call(s, berlin("2026-12-21T09:00:00")) == A  # the cycle starts again
    assert on_call(s, berlin("2025-01-01T00:00:00")) == C  # long before the start too


def test_weekly_rotation_starting_mid_week_waits_for_the_first_monday() -> None:
    s = weekly(start=date(2026, 12, 2))  # a Wednesday
    assert handoff_at(s, 0) == utc("2026-12-07T08:00:00")
    assert on_call(s, berlin("2026-12-05T12:00:00")) == C
    assert on_call(s, berlin("2026-12-07T09:00:00")) == A


def test_instants_in_any_zone_are_the_same_instant() -> None:
    s = weekly()
    assert on_call(s, utc("2026-12-07T07:59:59")) == A  # 08:59:59 in Berlin
    assert on_call(s, utc("2026-12-07T08:00:00")) == B
    ny = datetime(2026, 12, 7, 3, 0, tzinfo=ZoneInfo("America/New_York"))  # 09:00 Berlin
    assert on_call(s, ny) == B


def test_daily_rotation_hands_off_every_day() -> None:
    s = daily(date(2026, 1, 1))
    assert on_call(s, berlin("2026-01-01T08:00:00")) == B
    assert on_call(s, berlin("2026-01-01T09:00:00")) == A
    assert on_call(s, berlin("2026-01-02T08:59:00")) == A
    assert on_call(s, berlin("2026-01-02T09:00:00")) == B
    assert on_call(s, berlin("2026-01-03T09:00:00")) == A
    assert next_handoff(s, berlin("2026-01-02T12:00:00")) == utc("2026-01-03T08:00:00")


def test_two_week_rotation() -> None:
    rotation = Rotation(date(2026, 11, 30), timedelta(weeks=2), 0, time(9), (A, B))
    s = Schedule("pair", BERLIN, rotation)
    assert on_call(s, berlin("2026-12-10T12:00:00")) == A
    assert on_call(s, berlin("2026-12-14T08:59:00")) == A
    assert on_call(s, berlin("2026-12-14T09:00:00")) == B
    assert next_handoff(s, berlin("2026-12-14T09:00:00")) == utc("2026-12-28T08:00:00")


def test_weekly_handoff_stays_at_nine_local_across_spring_forward() -> None:
    # Berlin goes from +01:00 to +02:00 on Sunday 2026-03-29: the week is 167 hours long.
    s = weekly(start=date(2026, 3, 23))
    assert handoff_at(s, 0) == utc("2026-03-23T08:00:00")  # 09:00 +01:00
    assert handoff_at(s, 1) == utc("2026-03-30T07:00:00")  # 09:00 +02:00
    assert on_call(s, utc("2026-03-30T06:59:59")) == A  # 08:59:59 local
    assert on_call(s, utc("2026-03-30T07:00:00")) == B  # 09:00 local, not 10:00
    assert on_call(s, berlin("2026-03-30T09:00:00")) == B
    assert next_handoff(s, utc("2026-03-25T00:00:00")) == utc("2026-03-30T07:00:00")


def test_weekly_handoff_stays_at_nine_local_across_fall_back() -> None:
    # Berlin goes from +02:00 to +01:00 on Sunday 2026-10-25: the week is 169 hours long.
    s = weekly(start=date(2026, 10, 19))
    assert handoff_at(s, 0) == utc("2026-10-19T07:00:00")
    assert on_call(s, utc("2026-10-26T07:30:00")) == A  # 08:30 local: 168 h would say B
    assert on_call(s, utc("2026-10-26T07:59:59")) == A
    assert on_call(s, utc("2026-10-26T08:00:00")) == B  # 09:00 +01:00
    assert next_handoff(s, utc("2026-10-22T00:00:00")) == utc("2026-10-26T08:00:00")


def test_daily_handoff_on_both_change_days() -> None:
    s = daily(date(2026, 3, 28), people=(A, B, C))
    assert next_handoff(s, berlin("2026-03-28T10:00:00")) == utc("2026-03-29T07:00:00")
    assert on_call(s, utc("2026-03-29T06:59:00")) == A
    assert on_call(s, utc("2026-03-29T07:00:00")) == B
    s = daily(date(2026, 10, 24), people=(A, B, C))
    assert next_handoff(s, berlin("2026-10-24T10:00:00")) == utc("2026-10-25T08:00:00")
    assert on_call(s, utc("2026-10-25T07:59:00")) == A  # 08:59 +01:00, after the change
    assert on_call(s, utc("2026-10-25T08:00:00")) == B


def test_a_handoff_time_skipped_or_repeated_by_the_change() -> None:
    # 02:30 does not exist on 2026-03-29 (read as +01:00, i.e. 03:30 CEST) and happens
    # twice on 2026-10-25 (the first one counts).
    spring = daily(date(2026, 3, 29), at=time(2, 30))
    assert handoff_at(spring, 0) == utc("2026-03-29T01:30:00")
    assert handoff_at(spring, 1) == utc("2026-03-30T00:30:00")
    autumn = daily(date(2026, 10, 25), at=time(2, 30))
    assert handoff_at(autumn, 0) == utc("2026-10-25T00:30:00")
    assert on_call(autumn, utc("2026-10-25T00:29:00")) == B
    assert on_call(autumn, utc("2026-10-25T01:30:00")) == A  # the second 02:30: still A


# --- overrides -----------------------------------------------------------------------------

CHRISTMAS = Override(
    D, datetime.fromisoformat("2026-12-24T18:00:00+01:00"), berlin("2026-12-27T09:00:00")
)


def test_an_override_wins_inside_and_not_outside() -> None:
    s = weekly(CHRISTMAS)  # A holds the week from 2026-12-21
    assert on_call(s, berlin("2026-12-24T17:59:59")) == A
    assert on_call(s, berlin("2026-12-24T18:00:00")) == D  # start included
    assert on_call(s, berlin("2026-12-26T03:00:00")) == D
    assert on_call(s, berlin("2026-12-27T08:59:59")) == D
    assert on_call(s, berlin("2026-12-27T09:00:00")) == A  # end excluded
    assert on_call(s, berlin("2026-12-28T09:00:00")) == B


def test_overlapping_overrides_the_latest_start_wins() -> None:
    evening = Override(E, berlin("2026-12-25T18:00:00"), berlin("2026-12-25T22:00:00"))
    s = weekly(evening, CHRISTMAS)  # the order listed does not matter
    assert on_call(s, berlin("2026-12-25T17:00:00")) == D
    assert on_call(s, berlin("2026-12-25T18:00:00")) == E
    assert on_call(s, berlin("2026-12-25T22:00:00")) == D  # back to the outer override
    assert next_handoff(s, berlin("2026-12-25T12:00:00")) == utc("2026-12-25T17:00:00")
    assert on_call_next(s, berlin("2026-12-25T12:00:00")) == E
    assert next_handoff(s, berlin("2026-12-25T19:00:00")) == utc("2026-12-25T21:00:00")
    assert on_call_next(s, berlin("2026-12-25T19:00:00")) == D


def test_an_override_ending_before_the_next_handoff_hands_back_to_the_rotation() -> None:
    s = weekly(CHRISTMAS)
    at = berlin("2026-12-25T12:00:00")
    assert next_handoff(s, at) == utc("2026-12-27T08:00:00")  # the override's end
    assert on_call_next(s, at) == A  # the rotation's person resumes, before B's Monday
    after = berlin("2026-12-27T09:00:00")
    assert next_handoff(s, after) == utc("2026-12-28T08:00:00")
    assert on_call_next(s, after) == B


def test_an_override_starting_before_the_next_handoff_is_the_next_change() -> None:
    s = weekly(CHRISTMAS)
    at = berlin("2026-12-22T10:00:00")
    assert next_handoff(s, at) == utc("2026-12-24T17:00:00")
    assert on_call_next(s, at) == D


def test_a_handoff_under_an_override_is_no_change() -> None:
    # D covers Monday's handoff from A to B: the person changes only when D's cover ends.
    cover = Override(D, berlin("2026-12-27T00:00:00"), berlin("2026-12-29T00:00:00"))
    s = weekly(cover)
    assert next_handoff(s, berlin("2026-12-27T12:00:00")) == utc("2026-12-28T23:00:00")
    assert on_call_next(s, berlin("2026-12-27T12:00:00")) == B


def test_an_override_by_the_person_on_call_is_no_change() -> None:
    same = Override(A, berlin("2026-12-22T00:00:00"), berlin("2026-12-23T00:00:00"))
    s = weekly(same)
    assert next_handoff(s, berlin("2026-12-21T12:00:00")) == utc("2026-12-28T08:00:00")
    assert on_call_next(s, berlin("2026-12-21T12:00:00")) == B


def test_one_person_never_hands_off_but_the_shift_boundary_is_given() -> None:
    s = weekly(people=(A,))
    assert next_handoff(s, berlin("2026-12-02T12:00:00")) == utc("2026-12-07T08:00:00")
    assert on_call_next(s, berlin("2026-12-02T12:00:00")) == A


def test_instants_must_be_aware() -> None:
    with pytest.raises(ValueError, match="time zone"):
        on_call(weekly(), datetime(2026, 12, 1, 12, 0))
    with pytest.raises(ValueError, match="time zone"):
        next_handoff(weekly(), datetime(2026, 12, 1, 12, 0))


def test_rotations_and_overrides_refuse_nonsense() -> None:
    start = date(2026, 11, 30)
    with pytest.raises(ValueError, match="at least one person"):
        Rotation(start, timedelta(weeks=1), 0, time(9), ())
    with pytest.raises(ValueError, match="whole number of days"):
        Rotation(start, timedelta(hours=12), None, time(9), (A,))
    with pytest.raises(ValueError, match="whole weeks"):
        Rotation(start, timedelta(days=3), 0, time(9), (A,))
    with pytest.raises(ValueError, match="end after it starts"):
        Override(D, berlin("2026-12-27T09:00:00"), berlin("2026-12-27T09:00:00"))
    with pytest.raises(ValueError, match="UTC offset"):
        Override(D, datetime(2026, 12, 24, 18), berlin("2026-12-27T09:00:00"))


# --- durations, handoffs, user ids -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("90m", timedelta(minutes=90)),
        ("1h", timedelta(hours=1)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(days=7)),
        ("2w", timedelta(days=14)),
        (" 10m ", timedelta(minutes=10)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_a_duration_refusal_says_what_to_write() -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration("5 min")
    assert str(caught.value) == "'5 min' is not a duration: write 30s, 5m, 1h, 1d or 1w"


@pytest.mark.parametrize(
    "text",
    ["5", "m", "5M", "5min", "1.5h", "-5m", "+5m", "5m5s", "1y", "", "٥m", "²m", "0m", "53w"],
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_handoffs() -> None:
    assert parse_handoff("monday 09:00") == (0, time(9))
    assert parse_handoff("Sunday 23:59") == (6, time(23, 59))
    assert parse_handoff("09:00") == (None, time(9))
    for bad in ["9:00", "monday", "mon 09:00", "24:00", "09:60", "monday 09:00 CET", "", "٠٩:00"]:
        with pytest.raises(ValueError):
            parse_handoff(bad)


def test_user_ids() -> None:
    assert parse_user_id("U0AAA") == "U0AAA"
    assert parse_user_id("W012ABC") == "W012ABC"
    for bad in ["u0aaa", "S0PLATFORM", "U", "@bob", "U" + "A" * 20, " U0AAA"]:
        with pytest.raises(ValueError, match="Slack user id"):
            parse_user_id(bad)


# --- targets -------------------------------------------------------------------------------


def test_targets() -> None:
    assert parse_target("schedule:platform") == Target("schedule", "platform")
    assert parse_target("schedule:platform:next") == Target("schedule", "platform", next=True)
    assert parse_target("usergroup:S0PLATFORM") == Target("usergroup", "S0PLATFORM")
    assert parse_target("usergroup:platform-oncall") == Target("usergroup", "platform-oncall")
    assert parse_target("user:U0AAA") == Target("user", "U0AAA")
    assert str(parse_target("schedule:platform:next")) == "schedule:platform:next"


@pytest.mark.parametrize(
    "text",
    [
        "platform",
        "schedule:",
        "schedule:platform:later",
        "schedule:platform:next:next",
        "usergroup:",
        "usergroup:Platform Team",
        "user:bob",
        "user:S0PLATFORM",
        "team:platform",
        "",
    ],
)
def test_bad_targets_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_target(text)
    assert "schedule:NAME, schedule:NAME:next, usergroup:S0ABC" in str(caught.value)
    assert "user:U0ABC" in str(caught.value)


def test_resolve_target_pages_whoever_is_on_call_then() -> None:
    schedules = {"platform": weekly(CHRISTMAS)}
    monday = berlin("2026-12-07T10:00:00")
    christmas = berlin("2026-12-25T12:00:00")
    assert resolve_target(parse_target("schedule:platform"), schedules, monday) == (
        ResolvedTarget("user", B)
    )
    assert resolve_target(parse_target("schedule:platform:next"), schedules, monday) == (
        ResolvedTarget("user", C)
    )
    assert resolve_target(parse_target("schedule:platform"), schedules, christmas).ref == D
    assert resolve_target(parse_target("schedule:platform:next"), schedules, christmas).ref == A
    group = resolve_target(parse_target("usergroup:S0PLATFORM"), schedules, monday)
    assert group == ResolvedTarget("usergroup", "S0PLATFORM") and group.is_usergroup_id
    handle = resolve_target(parse_target("usergroup:platform"), schedules, monday)
    assert handle.kind == "usergroup" and not handle.is_usergroup_id
    assert resolve_target(parse_target("user:U0EEE"), schedules, monday) == ResolvedTarget(
        "user", E
    )
    with pytest.raises(KeyError):
        resolve_target(parse_target("schedule:nope"), schedules, monday)
