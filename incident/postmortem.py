"""The post-mortem document, built from what Postgres holds about an incident: the row, the
timeline, the participants, the action items and the sections people wrote.

It is rebuilt on every request rather than stored, so it always matches the timeline and never
loses a human edit. The timeline is read with one Core query of the needed columns and folded
in a single pass: 10,000 events take tens of milliseconds, and time grows linearly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from incident import action_items, review
from incident.action_items import ActionItemView
from incident.escalation import time_to_acknowledge
from incident.models import Incident, Participant, Status, TimelineEvent
from incident.postmortem_detection import DetectedAlert, alerts_of, time_to_detect
from incident.postmortem_entries import Entry
from incident.postmortem_fold import Change, Fold, Person
from incident.postmortem_sections import Section, merge, stored_sections
from incident.severity import Policy, rank
from incident.timefmt import duration_text, utc_text
from incident.words import plural


@dataclass(frozen=True, slots=True)
class Durations:
    tta: timedelta | None  # first page (else declared) → acknowledged
    ttm: timedelta | None  # declared → first mitigating/monitoring
    ttr: timedelta | None  # declared → resolved


@dataclass(slots=True)
class PostMortem:
    number: int
    title: str
    severity: str
    initial_severity: str
    severity_changes: list[Change]
    status: str
    impact: str | None
    commander_id: str
    commander_changes: list[Change]
    reporter_id: str
    channel_id: str | None
    channel_name: str | None
    declared_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    durations: Durations
    status_history: list[tuple[datetime, str]]
    participants: list[Person]
    timeline: list[Entry]
    sections: list[Section]
    action_items: list[ActionItemView]
    review_due_at: datetime | None
    review_reminder_at: datetime | None
    generated_at: datetime
    event_count: int
    ack_target: timedelta | None = None
    update_target: timedelta | None = None
    longest_update_gap: timedelta | None = None
    # Detection (incident.postmortem_detection): attached alerts and first sign → declared.
    detection: list[DetectedAlert] = field(default_factory=list)
    ttd: timedelta | None = None

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None and self.status == Status.RESOLVED.value

    @property
    def peak_severity(self) -> str:
        seen = [self.initial_severity, self.severity, *(c.after for c in self.severity_changes)]
        return min((s for s in seen if s), key=_rank_or_last)

    @property
    def end(self) -> datetime:
        """Where the time axis stops: resolution, or the last thing that happened."""
        last = self.timeline[-1].at if self.timeline else self.declared_at
        return max(self.resolved_at or last, last)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


def _rank_or_last(sev: str) -> int:
    try:
        return rank(sev)
    except ValueError:
        return 99


async def build(
    session: AsyncSession, number: int, *, now: datetime, policy: Policy | None = None
) -> PostMortem | None:
    """The post-mortem as of now; None when there is no such incident. Works for open
    incidents too (a draft), so people can read it while they are still working."""
    it = Incident.__table__
    inc = (await session.execute(select(it).where(it.c.number == number))).mappings().first()
    if inc is None:
        return None
    fold = Fold()
    fold.status_history.append((inc["declared_at"], Status.INVESTIGATING.value))
    te = TimelineEvent.__table__
    # `data` comes as text and is decoded in one json.loads: per-row JSON decoding was half
    # of the time for a long timeline.
    rows = (
        await session.execute(
            select(te.c.occurred_at, te.c.actor, te.c.kind, te.c.text, cast(te.c.data, Text))
            .where(te.c.incident_number == number, te.c.withdrawn_at.is_(None))
            .order_by(te.c.occurred_at, te.c.id)
        )
    ).all()
    datas = json.loads("[" + ",".join(row[4] for row in rows) + "]")
    add = fold.add
    for (at, actor, kind, text, _), data in zip(rows, datas, strict=True):
        add(at, actor, kind, text, data or {})
    await _add_participants(session, number, fold)
    stored = await stored_sections(session, number)
    items = await action_items.for_incident(session, number)
    pm = _assemble(inc, fold, stored, items, now=now, policy=policy)
    pm.detection = await alerts_of(session, number)
    pm.ttd = time_to_detect(inc["declared_at"], inc["detected_at"], pm.detection)
    return pm


async def _add_participants(session: AsyncSession, number: int, fold: Fold) -> None:
    pt = Participant.__table__
    rows = await session.execute(
        select(pt.c.user_id, pt.c.role, pt.c.joined_at).where(pt.c.incident_number == number)
    )
    for user, role, joined in rows:
        p = fold.person(user, joined)
        if role and role not in p.roles:
            p.roles.append(role)


def _first(*times: datetime | None) -> datetime | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def _since(start: datetime, end: datetime | None) -> timedelta | None:
    return end - start if end is not None else None


def _longest_gap(start: datetime, times: list[datetime], end: datetime | None) -> timedelta | None:
    """The longest silence between declaration, updates and resolution."""
    if end is None:
        return None
    points = [start, *(t for t in times if start <= t <= end), end]
    return max((b - a for a, b in pairwise(points)), default=None)


def _assemble(
    inc: Mapping[str, Any],
    fold: Fold,
    stored: dict[str, Any],
    items: list[ActionItemView],
    *,
    now: datetime,
    policy: Policy | None,
) -> PostMortem:
    declared = inc["declared_at"]
    resolved = inc["resolved_at"] or (
        fold.last_resolved if inc["status"] == Status.RESOLVED.value else None
    )
    acked = _first(inc["acknowledged_at"], fold.first_ack)
    mitigated = _first(inc["mitigated_at"], fold.first_mitigated)
    initial_sev = fold.initial_severity or (
        fold.severity_changes[0].before if fold.severity_changes else None
    )
    initial_sev = initial_sev or inc["severity"]
    durations = Durations(
        time_to_acknowledge(declared, acked, fold.first_page),
        _since(declared, mitigated),
        _since(declared, resolved),
    )
    ack_target = update_target = None
    if policy is not None:
        # Acknowledging is judged by the severity declared; the update cadence by the final one.
        ack_target = _policy_value(policy, initial_sev, "ack_within")
        update_target = _policy_value(policy, inc["severity"], "update_every")
    gap = _longest_gap(declared, fold.update_times, resolved)
    drafts = _drafts(inc, fold, durations, ack_target, update_target, gap, initial_sev)
    due = review.review_due(resolved) if resolved else None
    return PostMortem(
        number=inc["number"],
        title=inc["title"],
        severity=inc["severity"],
        initial_severity=initial_sev,
        severity_changes=fold.severity_changes,
        status=inc["status"],
        impact=inc["impact"],
        commander_id=inc["commander_id"],
        commander_changes=fold.commander_changes,
        reporter_id=inc["reporter_id"],
        channel_id=inc["channel_id"],
        channel_name=inc["channel_name"],
        declared_at=declared,
        acknowledged_at=acked,
        mitigated_at=mitigated,
        resolved_at=resolved,
        durations=durations,
        status_history=fold.status_history,
        participants=_people(inc, fold),
        timeline=fold.entries,
        sections=merge(drafts, stored),
        action_items=items,
        review_due_at=due,
        review_reminder_at=review.reminder_at(due) if due else None,
        generated_at=now,
        event_count=fold.count,
        ack_target=ack_target,
        update_target=update_target,
        longest_update_gap=gap,
    )


def _policy_value(policy: Policy, severity: str, name: str) -> timedelta | None:
    level = policy.levels.get(severity)
    return getattr(level, name) if level is not None else None


def _people(inc: Mapping[str, Any], fold: Fold) -> list[Person]:
    commanders = {inc["commander_id"]}
    for c in fold.commander_changes:
        commanders.update(u for u in (c.before, c.after) if u)
    for user in commanders:
        p = fold.person(user, None)
        if "commander" not in p.roles:
            p.roles.insert(0, "commander")
    reporter = fold.person(inc["reporter_id"], inc["declared_at"])
    if "reporter" not in reporter.roles:
        reporter.roles.append("reporter")
    for p in fold.people.values():
        if not p.roles:
            p.roles.append("responder")
    current = inc["commander_id"]

    def order(p: Person) -> tuple[int, datetime, str]:
        first = 0 if p.user_id == current else 1 if "commander" in p.roles else 2
        return (first, p.first_seen or inc["declared_at"], p.user_id)

    return sorted(fold.people.values(), key=order)


def _drafts(
    inc: Mapping[str, Any],
    fold: Fold,
    durations: Durations,
    ack_target: timedelta | None,
    update_target: timedelta | None,
    gap: timedelta | None,
    initial_sev: str,
) -> dict[str, str]:
    """First versions of the human sections, from what the timeline already says."""
    causes = "\n".join(
        f"- {text} (<@{actor}>, {utc_text(at)})" if actor else f"- {text} ({utc_text(at)})"
        for at, actor, text in fold.causes
    )
    well: list[str] = []
    badly: list[str] = []
    if durations.tta is not None and ack_target is not None:
        line = (
            f"Acknowledged in {duration_text(durations.tta)} "
            f"(the {initial_sev} target is {duration_text(ack_target)})."
        )
        (well if durations.tta <= ack_target else badly).append(line)
    if gap is not None and update_target is not None:
        if gap > update_target:
            badly.append(
                f"Longest silence between updates: {duration_text(gap)} "
                f"(the {inc['severity']} cadence is every {duration_text(update_target)})."
            )
        elif fold.update_times:
            well.append(
                f"Updates kept to the {inc['severity']} cadence (longest gap {duration_text(gap)})."
            )
    if fold.troubled_actions:
        badly.append(
            f"{plural(fold.troubled_actions, 'action')} "
            + ("was" if fold.troubled_actions == 1 else "were")
            + " refused or failed."
        )
    return {
        "summary": inc["summary"] or fold.resolved_text or "",
        "impact": inc["impact"] or "",
        "root_cause": causes,
        "went_well": "\n".join(f"- {line}" for line in well),
        "went_badly": "\n".join(f"- {line}" for line in badly),
    }
