"""Who is on call at an instant: a rotation of people, handed over at a local wall-clock time,
and overrides on top. Pure time arithmetic; `incident.oncall` re-exports all of it.

Handoffs are counted in local calendar days, so a 09:00 handoff stays at 09:00 local across
daylight-saving changes (a week that spans one is 167 or 169 hours long, not 168).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


@dataclass(frozen=True)
class Rotation:
    """``people`` take turns, one shift each, every ``every`` (a whole number of days).

    The first handoff is at ``handoff_time`` on the first local date on or after ``start``
    that is a ``handoff_weekday`` (0 = Monday; None: any day, for daily rotations).
    ``people[0]`` holds the shift that BEGINS at that first handoff, ``people[1]`` the next,
    cycling; before the first handoff the shift is ``people[-1]``'s (the one "handing off"
    to ``people[0]``), so a schedule has someone on call at every instant.
    """

    start: date
    every: timedelta
    handoff_weekday: int | None
    handoff_time: time
    people: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.people:
            raise ValueError("a rotation needs at least one person")
        if self.every < timedelta(days=1) or self.every % timedelta(days=1):
            raise ValueError("a rotation hands off every whole number of days (1d, 1w, 2w...)")
        if self.handoff_weekday is not None:
            if not 0 <= self.handoff_weekday <= 6:
                raise ValueError("handoff_weekday is 0 (Monday) to 6 (Sunday)")
            if self.every.days % 7:
                raise ValueError("a handoff on a weekday needs every to be whole weeks (1w, 2w...)")
        if self.handoff_time.tzinfo is not None:
            raise ValueError("handoff_time is a local wall-clock time, without a time zone")


@dataclass(frozen=True)
class Override:
    """``user`` is on call for [start, end): from ``start`` included to ``end`` excluded."""

    user: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise ValueError("an override's start and end need a UTC offset (+01:00, Z)")
        if self.end <= self.start:
            raise ValueError("an override must end after it starts")

    def covers(self, at: datetime) -> bool:
        return self.start.astimezone(UTC) <= at.astimezone(UTC) < self.end.astimezone(UTC)


@dataclass(frozen=True)
class Schedule:
    name: str
    timezone: ZoneInfo
    rotation: Rotation
    overrides: tuple[Override, ...] = ()


def on_call(schedule: Schedule, at: datetime) -> str:
    """The user on call at ``at`` (aware). An override covering ``at`` wins over the
    rotation; among several, the latest-starting one (on a tie, the one listed last)."""
    at = _utc(at)
    override = _override_at(schedule, at)
    if override is not None:
        return override.user
    return _rotation_person(schedule, _shift_index(schedule, at))


def next_handoff(schedule: Schedule, at: datetime) -> datetime:
    """The next instant after ``at`` when the person on call changes (aware, UTC).

    Rotation handoffs, override starts and override ends all count, but only where the person
    actually changes (a handoff hidden under an override is none). When nobody else is ever
    on call (one person, no override ahead) it is the next rotation handoff.
    """
    at = _utc(at)
    current = on_call(schedule, at)
    people = len(schedule.rotation.people)
    last_override = max((o.end for o in schedule.overrides), default=None)
    first_handoff: datetime | None = None
    handoffs_after_overrides = 0
    moment = at
    while True:
        moment, is_handoff = _next_boundary(schedule, moment)
        if is_handoff and first_handoff is None:
            first_handoff = moment
        if on_call(schedule, moment) != current:
            return moment
        if is_handoff and (last_override is None or moment >= last_override):
            handoffs_after_overrides += 1
            if handoffs_after_overrides > people:  # a full cycle with nobody new: never
                assert first_handoff is not None
                return first_handoff


def on_call_next(schedule: Schedule, at: datetime) -> str:
    """Who takes over at `next_handoff`: the person ``schedule:NAME:next`` pages."""
    return on_call(schedule, next_handoff(schedule, at))


def handoff_at(schedule: Schedule, index: int) -> datetime:
    """The instant shift ``index`` begins (0: the first handoff), in UTC.

    A handoff time that a spring-forward skips (02:30 on the change day) is read with the
    offset before the change; one that a fall-back repeats is its first occurrence."""
    rotation = schedule.rotation
    day = _first_handoff_date(rotation) + timedelta(days=index * rotation.every.days)
    local = datetime.combine(day, rotation.handoff_time, tzinfo=schedule.timezone)
    return local.astimezone(UTC)


def _first_handoff_date(rotation: Rotation) -> date:
    if rotation.handoff_weekday is None:
        return rotation.start
    return rotation.start + timedelta(
        days=(rotation.handoff_weekday - rotation.start.weekday()) % 7
    )


def _shift_index(schedule: Schedule, at: datetime) -> int:
    """The index of the shift holding ``at``; -1 before the first handoff."""
    local_day = at.astimezone(schedule.timezone).date()
    days = (local_day - _first_handoff_date(schedule.rotation)).days
    index = days // schedule.rotation.every.days
    if index >= 0 and handoff_at(schedule, index) > at:
        index -= 1  # on a handoff day, before the handoff time
    return max(index, -1)


def _rotation_person(schedule: Schedule, index: int) -> str:
    people = schedule.rotation.people
    return people[index % len(people)]


def _override_at(schedule: Schedule, at: datetime) -> Override | None:
    found: Override | None = None
    for override in schedule.overrides:
        if override.covers(at) and (found is None or _utc(override.start) >= _utc(found.start)):
            found = override
    return found


def _next_boundary(schedule: Schedule, after: datetime) -> tuple[datetime, bool]:
    """The first rotation handoff, override start or override end strictly after ``after``;
    True when it is a rotation handoff."""
    handoff = handoff_at(schedule, _shift_index(schedule, after) + 1)
    edges = [_utc(t) for o in schedule.overrides for t in (o.start, o.end) if t > after]
    edge = min(edges, default=None)
    if edge is not None and edge < handoff:
        return edge, False
    return handoff, True


def _utc(at: datetime) -> datetime:
    """Instants are compared in UTC: two datetimes sharing a ZoneInfo compare by wall clock,
    which is wrong across a fall-back hour."""
    if at.utcoffset() is None:
        raise ValueError("an instant needs a time zone (an aware datetime)")
    return at.astimezone(UTC)
