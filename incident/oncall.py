"""On call: schedules (who holds the pager when), escalation policies (whom to page, and how
long to wait before the next step), and the strict readings of what a catalog writes for them.

Paging code asks one question, `resolve_target(step.target, schedules, at)`: which Slack
user, or which user group, to page for this step now. The time arithmetic of rotations and
overrides lives in `incident.oncall_rotation` and is re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from incident.numbers import parse_count
from incident.oncall_rotation import (
    WEEKDAYS,
    Override,
    Rotation,
    Schedule,
    handoff_at,
    next_handoff,
    on_call,
    on_call_next,
)

__all__ = [
    "WEEKDAYS",
    "EscalationPolicy",
    "EscalationStep",
    "Override",
    "ResolvedTarget",
    "Rotation",
    "Schedule",
    "Target",
    "handoff_at",
    "next_handoff",
    "on_call",
    "on_call_next",
    "parse_duration",
    "parse_handoff",
    "parse_target",
    "parse_user_id",
    "resolve_target",
]

_UNITS: dict[str, timedelta] = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_DURATION = re.compile(r"([0-9]+)([smhdw])")
MAX_DURATION = timedelta(days=366)  # longer is a typo, and would overflow on the way

_USER_ID = re.compile(r"[UW][A-Z0-9]{1,19}")  # U0AAA; W for Enterprise Grid users
_USERGROUP_ID = re.compile(r"S[A-Z0-9]{1,19}")
_USERGROUP_HANDLE = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
_SCHEDULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CLOCK = re.compile(r"([0-9]{2}):([0-9]{2})")

TARGET_FORMS = "schedule:NAME, schedule:NAME:next, usergroup:S0ABC (or a handle), user:U0ABC"


def parse_duration(text: str) -> timedelta:
    """``30s``, ``5m``, ``1h``, ``1d``, ``1w`` (any count of one unit: ``90m``), ASCII digits,
    more than zero and at most a year. Anything else raises ValueError saying what to write."""
    refusal = f"{_shown(text)} is not a duration: write 30s, 5m, 1h, 1d or 1w"
    found = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise ValueError(refusal)
    try:
        count = parse_count(found.group(1), minimum=1, maximum=10**6, what="duration")
    except ValueError:
        raise ValueError(f"{refusal}, more than zero") from None
    duration = count * _UNITS[found.group(2)]
    if duration > MAX_DURATION:
        raise ValueError(f"{_shown(text)} is too long: a duration is at most a year (52w)")
    return duration


def parse_handoff(text: str) -> tuple[int | None, time]:
    """``monday 09:00`` (a weekday, any case, and a 24-hour HH:MM) → (0, 09:00), or
    ``09:00`` → (None, 09:00) for a handoff every day."""
    refusal = f"{_shown(text)} is not a handoff: write a time (09:00) or a weekday and a time"
    words = text.split() if isinstance(text, str) else []
    if len(words) not in (1, 2):
        raise ValueError(f"{refusal} (monday 09:00)")
    weekday: int | None = None
    if len(words) == 2:
        day = words[0].lower()
        if day not in WEEKDAYS:
            raise ValueError(f"{_shown(words[0])} is not a weekday: write monday ... sunday")
        weekday = WEEKDAYS.index(day)
    clock = _CLOCK.fullmatch(words[-1])
    hour, minute = (int(clock.group(1)), int(clock.group(2))) if clock else (99, 99)
    if hour > 23 or minute > 59:
        raise ValueError(f"{_shown(words[-1])} is not a time of day: write HH:MM, 00:00 to 23:59")
    return weekday, time(hour, minute)


def parse_user_id(text: str) -> str:
    """A Slack user id (``U0AAA``, or ``W…`` on Enterprise Grid), as it is."""
    if not isinstance(text, str) or not _USER_ID.fullmatch(text):
        raise ValueError(f"{_shown(text)} is not a Slack user id (U or W and capitals/digits)")
    return text


@dataclass(frozen=True)
class Target:
    """Whom one escalation step notifies.

    ``kind`` ``schedule``: whoever is on call in schedule ``ref`` (``next``: whoever takes
    over at its next handoff); ``usergroup``: a user group id (``S…``) or handle; ``user``:
    one Slack user id."""

    kind: Literal["schedule", "usergroup", "user"]
    ref: str
    next: bool = False

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}" + (":next" if self.next else "")


def parse_target(text: str) -> Target:
    """``schedule:NAME``, ``schedule:NAME:next``, ``usergroup:S0ABC`` or
    ``usergroup:handle``, ``user:U0ABC``; anything else raises ValueError naming them."""
    refusal = f"{_shown(text)} is not a target: write {TARGET_FORMS}"
    if not isinstance(text, str):
        raise ValueError(refusal)
    kind, _, rest = text.strip().partition(":")
    if kind == "schedule":
        name, colon, suffix = rest.partition(":")
        if _SCHEDULE_NAME.fullmatch(name) and (not colon or suffix == "next"):
            return Target("schedule", name, next=bool(colon))
    elif kind == "usergroup":
        if _USERGROUP_ID.fullmatch(rest) or _USERGROUP_HANDLE.fullmatch(rest):
            return Target("usergroup", rest)
    elif kind == "user" and _USER_ID.fullmatch(rest):
        return Target("user", rest)
    raise ValueError(refusal)


@dataclass(frozen=True)
class EscalationStep:
    """Notify ``target``, then wait ``wait`` for an acknowledgement before the next step
    (None: nothing follows)."""

    target: Target
    wait: timedelta | None = None


@dataclass(frozen=True)
class EscalationPolicy:
    name: str
    steps: tuple[EscalationStep, ...]


@dataclass(frozen=True)
class ResolvedTarget:
    """Whom to page: ``kind`` ``user`` with a user id, or ``usergroup`` with an id or a
    handle (`is_usergroup_id` tells them apart: a mention needs the id)."""

    kind: Literal["user", "usergroup"]
    ref: str

    @property
    def is_usergroup_id(self) -> bool:
        return self.kind == "usergroup" and bool(_USERGROUP_ID.fullmatch(self.ref))


def resolve_target(
    target: Target, schedules: Mapping[str, Schedule], at: datetime
) -> ResolvedTarget:
    """Who to page for ``target`` at ``at``. A schedule unknown to ``schedules`` raises
    KeyError (the catalog refuses such targets when it loads)."""
    if target.kind == "schedule":
        schedule = schedules[target.ref]
        user = on_call_next(schedule, at) if target.next else on_call(schedule, at)
        return ResolvedTarget("user", user)
    return ResolvedTarget(target.kind, target.ref)


def _shown(text: object) -> str:
    return repr(" ".join(text.split())[:40]) if isinstance(text, str) else repr(text)[:40]
