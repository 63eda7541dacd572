"""`/postmortems`: every incident with its figures, filtered by severity and date, and the
MTTA / MTTR trend per severity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from bot.web.html import esc, page
from bot.web.trend_svg import trend_chart
from incident.postmortem_stats import Filters, IncidentRow, TrendPoint, Unit
from incident.severity import SEVERITIES
from incident.timefmt import duration_text, utc_text


def _date(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d") if at else ""


def _filters_form(f: Filters, token: str) -> str:
    options = '<option value="">all</option>' + "".join(
        f"<option{' selected' if f.severity == s else ''}>{s}</option>" for s in SEVERITIES
    )
    until = _date(f.until - timedelta(days=1)) if f.until else ""
    return (
        '<form class="filters" method="get" action="/postmortems">'
        f'<input type="hidden" name="t" value="{esc(token)}">'
        f'<label>Severity<select name="severity">{options}</select></label>'
        f'<label>From<input type="date" name="since" value="{esc(_date(f.since))}"></label>'
        f'<label>To<input type="date" name="until" value="{esc(until)}"></label>'
        '<button type="submit">Filter</button></form>'
    )


def _rows(rows: list[IncidentRow], token: str) -> str:
    if not rows:
        return '<p class="muted">No incidents match.</p>'
    t = quote(token)
    body = "".join(
        f'<tr><td><a href="/postmortems/{r.number}?t={t}">#{r.number}</a></td>'
        f"<td>{esc(r.title)}</td>"
        f'<td><span class="sev {esc(r.severity)}">{esc(r.severity)}</span></td>'
        f"<td>{esc(r.status.capitalize())}</td><td>{esc(utc_text(r.declared_at))}</td>"
        f"<td>{esc(duration_text(r.tta))}</td><td>{esc(duration_text(r.ttr))}</td>"
        f"<td>{esc(utc_text(r.review_due_at)) if r.review_due_at else '—'}</td></tr>"
        for r in rows
    )
    return (
        "<table><thead><tr><th>#</th><th>Title</th><th>Severity</th><th>Status</th>"
        "<th>Declared</th><th>TTA</th><th>TTR</th><th>Review due</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def render_list(
    rows: list[IncidentRow],
    points: list[TrendPoint],
    f: Filters,
    unit: Unit,
    *,
    token: str,
    limit: int,
) -> str:
    more = f'<p class="muted">Showing the latest {limit}.</p>' if len(rows) >= limit else ""
    body = [
        "<h1>Post-mortems</h1>",
        _filters_form(f, token),
        f'<div class="card"><h2>Trend (per {esc(unit)})</h2>',
        trend_chart(points, lambda p: p.mtta, title="Mean time to acknowledge", unit=unit),
        trend_chart(points, lambda p: p.mttr, title="Mean time to resolve", unit=unit),
        "</div>",
        f"<h2>Incidents ({len(rows)})</h2>",
        _rows(rows, token),
        more,
    ]
    return page("Post-mortems", "".join(body))
