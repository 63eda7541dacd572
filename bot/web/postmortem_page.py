"""The post-mortem as a readable, printable HTML page, with the human sections editable in
place by a plain form POST (no script)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from bot.web.html import esc, page, rich, user_html
from bot.web.timeline_svg import timeline_svg
from incident.postmortem import PostMortem
from incident.postmortem_render import (
    Names,
    clock,
    commander_text,
    contributions_text,
    cost_text,
    multi_day,
    severity_text,
)
from incident.postmortem_sections import Section
from incident.timefmt import duration_text, utc_text

CHUNK = 500  # timeline rows per list; each list is laid out only when scrolled to


def _when(at: datetime | None) -> str:
    if at is None:
        return '<span class="muted">—</span>'
    return f'<time datetime="{esc(at.astimezone(UTC).isoformat())}">{esc(utc_text(at))}</time>'


def _facts(pm: PostMortem, names: Names) -> str:
    d = pm.durations
    rows = [
        ("Severity", esc(severity_text(pm))),
        ("Status", f'<span class="status">{esc(pm.status.capitalize())}</span>'),
        ("Commander", commander_text(pm, lambda u: user_html(u, names))),
        ("Reporter", user_html(pm.reporter_id, names)),
    ]
    if pm.channel_name:
        rows.append(("Channel", f"#{esc(pm.channel_name)}"))
    rows += [
        ("Declared", _when(pm.declared_at)),
        ("Acknowledged", f"{_when(pm.acknowledged_at)} · TTA <b>{esc(duration_text(d.tta))}</b>"),
        ("Mitigated", f"{_when(pm.mitigated_at)} · TTM <b>{esc(duration_text(d.ttm))}</b>"),
        ("Resolved", f"{_when(pm.resolved_at)} · TTR <b>{esc(duration_text(d.ttr))}</b>"),
        *(
            [("Detected", f"TTD <b>{esc(duration_text(pm.ttd))}</b> before the declaration")]
            if pm.ttd is not None
            else []
        ),
        ("Cost", esc(cost_text(pm))),
    ]
    if pm.review_due_at:
        rows.append(("Review due", f"{_when(pm.review_due_at)} (five business days)"))
    items = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    return f'<dl class="facts">{items}</dl>'


def _section(pm: PostMortem, s: Section, names: Names, token: str, saved: str | None) -> str:
    if s.body.strip():
        body = f'<p class="body">{rich(s.body, names)}</p>'
    else:
        body = '<p class="muted">Not written yet.</p>'
    if s.generated:
        note = '<p class="draft">Draft generated from the timeline.</p>' if s.body.strip() else ""
    else:
        note = (
            f'<p class="draft">Written by {user_html(s.edited_by, names)}, '
            f"{esc(utc_text(s.edited_at))}.</p>"
            if s.edited_at
            else ""
        )
    flash = '<p class="draft">Saved.</p>' if saved == s.key else ""
    version = s.edited_at.isoformat() if s.edited_at else ""
    form = (
        f'<details class="edit"><summary>Edit</summary>'
        f'<form method="post" action="/postmortems/{pm.number}/sections">'
        f'<input type="hidden" name="t" value="{esc(token)}">'
        f'<input type="hidden" name="key" value="{esc(s.key)}">'
        f'<input type="hidden" name="version" value="{esc(version)}">'
        f'<textarea name="body" aria-label="{esc(s.title)}">{esc(s.body)}</textarea>'
        f"<small>Plain text or Markdown. Saving an empty box brings the generated draft "
        f'back.</small><br><button type="submit">Save</button></form></details>'
    )
    return f'<section id="{esc(s.key)}"><h2>{esc(s.title)}</h2>{body}{note}{flash}{form}</section>'


def _action_items(pm: PostMortem, names: Names) -> str:
    if not pm.action_items:
        return (
            '<p class="muted">None recorded yet. In Slack: '
            "<code>/incident action &lt;text&gt; @owner</code>.</p>"
        )
    rows = "".join(
        f"<tr><td>{'✅' if i.done else '☐'}</td><td>{rich(i.text, names)}</td>"
        f"<td>{user_html(i.owner_id, names) if i.owner_id else '<b>no owner</b>'}</td>"
        f"<td>{user_html(i.created_by, names)}</td><td>{_when(i.created_at)}</td></tr>"
        for i in pm.action_items
    )
    return (
        "<table><thead><tr><th></th><th>Action</th><th>Owner</th><th>Added by</th>"
        f"<th>When</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _people(pm: PostMortem, names: Names) -> str:
    rows = "".join(
        f"<tr><td>{user_html(p.user_id, names)}</td><td>{esc(', '.join(p.roles))}</td>"
        f"<td>{esc(contributions_text(p.contributions))}</td></tr>"
        for p in pm.participants
    )
    return (
        "<table><thead><tr><th>Who</th><th>Role</th><th>What they did</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _timeline_list(pm: PostMortem, names: Names) -> str:
    dated = multi_day(pm)
    out: list[str] = []
    entries = pm.timeline
    for start in range(0, len(entries), CHUNK):
        rows = []
        for e in entries[start : start + CHUNK]:
            who = f"{user_html(e.actor, names)} " if e.actor else ""
            rows.append(
                f'<li><time datetime="{e.at.isoformat()}">{clock(e.at, with_date=dated)}</time>'
                f'<span class="k">{esc(e.kind)}</span><span>{who}{rich(e.text, names)}</span></li>'
            )
        out.append(f'<ol class="tl">{"".join(rows)}</ol>')
    return "".join(out) or '<p class="muted">No events.</p>'


def render_postmortem(
    pm: PostMortem,
    names: Names,
    *,
    token: str,
    show_list_link: bool,
    saved: str | None = None,
) -> str:
    t = quote(token)
    nav = [
        f'<a href="/postmortems/{pm.number}.md?t={t}">Markdown</a>',
        f'<a href="/api/incidents/{pm.number}?t={t}">JSON</a>',
    ]
    if show_list_link:
        nav.insert(0, f'<a href="/postmortems?t={t}">All post-mortems</a>')
    draft = "" if pm.is_resolved else " · <b>the incident is still open: this is a draft</b>"
    head = (
        f"<nav>{' · '.join(nav)}</nav>"
        f"<h1>Incident #{pm.number}: {esc(pm.title)}</h1>"
        f'<p><span class="sev {esc(pm.severity)}">{esc(pm.severity)}</span> '
        f'<span class="muted">Post-mortem generated {esc(utc_text(pm.generated_at))} from '
        f"{pm.event_count} timeline events{draft}</span></p>"
    )
    sections = {s.key: s for s in pm.sections}
    first = ("summary", "impact")
    rest = [s for s in pm.sections if s.key not in first]
    body = [
        head,
        _facts(pm, names),
        *(_section(pm, sections[k], names, token, saved) for k in first),
        '<h2 id="timeline">Timeline</h2>',
        timeline_svg(pm, names, multi_day=multi_day(pm)),
        *(_section(pm, s, names, token, saved) for s in rest),
        '<h2 id="action-items">Action items</h2>',
        _action_items(pm, names),
        '<h2 id="people">Who did what</h2>',
        _people(pm, names),
        f'<h2 id="events">All events ({len(pm.timeline)}, times UTC)</h2>',
        _timeline_list(pm, names),
    ]
    return page(f"Post-mortem #{pm.number}: {pm.title}", "".join(body))
