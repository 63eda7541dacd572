"""The post-mortem's Detection: the alerts that told of the incident, with their start and
end, and the time to detect (the first alert's start, or the incident's `detected_at`, to
the declaration), beside TTA/TTM/TTR."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from incident.escaping import escape_markdown
from incident.models import AlertRecord
from incident.timefmt import duration_text, utc_text


@dataclass(frozen=True, slots=True)
class DetectedAlert:
    name: str
    source: str
    status: str
    summary: str | None
    starts_at: datetime
    ends_at: datetime | None


async def alerts_of(session: AsyncSession, number: int) -> list[DetectedAlert]:
    t = AlertRecord.__table__
    rows = await session.execute(
        select(t.c.name, t.c.source, t.c.status, t.c.summary, t.c.starts_at, t.c.ends_at)
        .where(t.c.incident_number == number)
        .order_by(t.c.starts_at, t.c.id)
    )
    return [DetectedAlert(*row) for row in rows]


def first_detected(detected_at: datetime | None, alerts: list[DetectedAlert]) -> datetime | None:
    times = [t for t in (detected_at, *(a.starts_at for a in alerts)) if t is not None]
    return min(times) if times else None


def time_to_detect(
    declared_at: datetime, detected_at: datetime | None, alerts: list[DetectedAlert]
) -> timedelta | None:
    """First sign → declared; None when nothing was seen before the declaration."""
    first = first_detected(detected_at, alerts)
    if first is None or first > declared_at:
        return None
    return declared_at - first


def markdown_lines(alerts: list[DetectedAlert], ttd: timedelta | None) -> list[str]:
    """The `## Detection` section (empty when no alert is attached)."""
    if not alerts:
        return []
    out = ["## Detection", ""]
    if ttd is not None:
        out += [f"Time to detect (first alert → declared): **{duration_text(ttd)}**.", ""]
    for a in alerts:
        end = f"ended {utc_text(a.ends_at)}" if a.ends_at else "still firing"
        summary = f" — {escape_markdown(a.summary)}" if a.summary and a.summary != a.name else ""
        out.append(
            f"- **{escape_markdown(a.name)}** ({a.source}){summary}: started "
            f"{utc_text(a.starts_at)}, {end}"
        )
    out.append("")
    return out


def as_dicts(alerts: list[DetectedAlert]) -> list[dict]:
    return [
        {
            "name": a.name,
            "source": a.source,
            "status": a.status,
            "summary": a.summary,
            "starts_at": a.starts_at.isoformat(),
            "ends_at": a.ends_at.isoformat() if a.ends_at else None,
        }
        for a in alerts
    ]
