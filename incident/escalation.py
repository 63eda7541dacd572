"""Which page of an escalation policy is due at an instant: pure arithmetic over the pages
already sent (the `pages` table) and whether the incident was acknowledged.

The rules:

* step 1 is due as soon as the incident is declared (``start``);
* step N+1 is due ``wait`` of step N after step N was actually *sent* (not after the declaration:
  a replica that was down, or Slack refusing for a while, delays the chain but never bursts
  several steps at once after a restart);
* the last step, once sent, repeats **in the incident channel** every ``wait`` of the last step
  (`DEFAULT_REPEAT` when it has none), at most `MAX_REPEATS` times — then warroom stops paging
  and the ordinary reminders keep nagging;
* an acknowledged or resolved incident pages nobody.

A policy edited during an incident (fewer steps) is read as it is now: a sent step beyond the
new last one counts as the last.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from incident.oncall import EscalationStep

DEFAULT_REPEAT = timedelta(minutes=5)
MAX_REPEATS = 3


@dataclass(frozen=True)
class Sent:
    """A policy page already sent: ``step`` (0-based) and ``round`` (0 the step's own page,
    1.. its repeats in the channel)."""

    step: int
    round: int
    at: datetime


@dataclass(frozen=True)
class Due:
    step: int
    round: int
    due: datetime

    @property
    def repeat(self) -> bool:
        """A repeat of the last step: posted in the incident channel."""
        return self.round > 0

    def key(self, number: int) -> str:
        """The page's dedupe key: the same on every replica, so it is claimed once."""
        return f"page:{number}:{self.step}:{self.round}"


def next_page(
    steps: Sequence[EscalationStep],
    sent: Iterable[Sent],
    *,
    start: datetime,
    acknowledged: bool,
    open_: bool = True,
) -> Due | None:
    """The next page of the policy and when it is due (maybe in the future), or None when
    nothing more will be paged."""
    if acknowledged or not open_ or not steps:
        return None
    last = max(sent, key=lambda s: (s.step, s.round, s.at), default=None)
    if last is None:
        return Due(0, 0, start)
    index = min(last.step, len(steps) - 1)
    step = steps[index]
    if index < len(steps) - 1:
        if step.wait is None:  # the catalog refuses this; nothing can follow
            return None
        return Due(index + 1, 0, last.at + step.wait)
    if last.round >= MAX_REPEATS:
        return None
    return Due(index, last.round + 1, last.at + (step.wait or DEFAULT_REPEAT))


def due_page(
    steps: Sequence[EscalationStep],
    sent: Iterable[Sent],
    *,
    start: datetime,
    acknowledged: bool,
    now: datetime,
    open_: bool = True,
) -> Due | None:
    """The page to send at ``now``, if one is due."""
    page = next_page(steps, sent, start=start, acknowledged=acknowledged, open_=open_)
    return page if page is not None and page.due <= now else None


def time_to_acknowledge(
    declared_at: datetime, acknowledged_at: datetime | None, first_page: datetime | None
) -> timedelta | None:
    """Counted from the first page when one was sent before the acknowledgement (the
    responder could not react before being paged), else from the declaration."""
    if acknowledged_at is None:
        return None
    start = first_page if first_page is not None and first_page <= acknowledged_at else declared_at
    return acknowledged_at - start
