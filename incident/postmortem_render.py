"""The post-mortem as Markdown, as a JSON-able dict, and as the short summary posted in Slack.

User text is escaped for each format; people (`<@U123>` in the document) become names where
the caller knows them, otherwise their Slack id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from incident import postmortem_detection as detection
from incident.escaping import escape_markdown as md_escape
from incident.escaping import escape_mrkdwn
from incident.postmortem import PostMortem
from incident.timefmt import duration_text, utc_text
from incident.words import plural

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
Names = Mapping[str, str]


def with_people(text: str, escape: Callable[[str], str], person: Callable[[str], str]) -> str:
    """Escape `text` for a format, turning each `<@U123>` into `person(U123)` (already safe)."""
    out: list[str] = []
    pos = 0
    for m in MENTION.finditer(text):
        out.append(escape(text[pos : m.start()]))
        out.append(person(m.group(1)))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def name_of(user: str | None, names: Names) -> str:
    if not user:
        return "someone"
    return names.get(user) or user


def md_line(text: str | None, names: Names) -> str:
    flat = " ".join((text or "").split())
    return with_people(flat, md_escape, lambda u: "@" + md_escape(name_of(u, names)))


def md_block(text: str, names: Names) -> str:
    return with_people(text, md_escape, lambda u: "@" + md_escape(name_of(u, names)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def multi_day(pm: PostMortem) -> bool:
    return pm.declared_at.astimezone(UTC).date() != pm.end.astimezone(UTC).date()


def clock(at: datetime, *, with_date: bool) -> str:
    fmt = "%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S"
    return at.astimezone(UTC).strftime(fmt)


def when(at: datetime | None) -> str:
    return utc_text(at) if at else "—"


def severity_text(pm: PostMortem) -> str:
    if not pm.severity_changes:
        return pm.severity
    steps = " → ".join([pm.initial_severity, *(c.after or "?" for c in pm.severity_changes)])
    return f"{pm.severity} ({steps})"


def cost_text(pm: PostMortem) -> str:
    actions = sum(1 for e in pm.timeline if e.kind == "action")
    parts = [
        f"{duration_text(pm.durations.ttr)} from declaration to resolution"
        if pm.durations.ttr is not None
        else f"open for {duration_text(pm.generated_at - pm.declared_at)} so far",
        f"{len(pm.participants)} people involved",
        f"{actions} action(s) taken",
    ]
    return ", ".join(parts)


# Contribution labels that are things done once (no count), and plural → singular.
_DEEDS = frozenset({"declared", "acknowledged", "resolved"})
_SINGULAR = {"approvals": "approval", "updates": "update", "notes": "note", "checks": "check"}


def _contribution(label: str, n: int) -> str:
    if label in _DEEDS:
        return label if n == 1 else f"{label} ×{n}"
    if n == 1:
        singular = _SINGULAR.get(label) or (label[:-1] if label.endswith("s") else label)
        return f"1 {singular}"
    return f"{n} {label}"


def contributions_text(contributions: Mapping[str, int]) -> str:
    return ", ".join(_contribution(label, n) for label, n in contributions.items()) or "—"


def commander_text(pm: PostMortem, person: Callable[[str], str]) -> str:
    """`@ines (since 09:40 UTC; before: @ivan)` after a hand-over."""
    if not pm.commander_changes:
        return person(pm.commander_id)
    last = pm.commander_changes[-1]
    before = [c.before for c in pm.commander_changes if c.before]
    earlier = ", ".join(person(u) for u in dict.fromkeys(before))
    return f"{person(pm.commander_id)} (since {utc_text(last.at)}; before: {earlier})"


def to_markdown(pm: PostMortem, names: Names | None = None, *, link: str | None = None) -> str:
    names = names or {}
    person = lambda u: "@" + md_escape(name_of(u, names))  # noqa: E731
    d = pm.durations
    out: list[str] = [
        f"# Post-mortem: incident #{pm.number} — {md_line(pm.title, names)}",
        "",
        f"_Generated {utc_text(pm.generated_at)} from the incident timeline"
        + ("" if pm.is_resolved else "; the incident is still open, so this is a draft")
        + "._",
        "",
        "| | |",
        "|---|---|",
        f"| Severity | {_cell(severity_text(pm))} |",
        f"| Status | {pm.status.capitalize()} |",
        f"| Commander | {_cell(commander_text(pm, person))} |",
        f"| Reporter | {_cell(person(pm.reporter_id))} |",
    ]
    if pm.channel_name:
        out.append(f"| Channel | #{_cell(md_escape(pm.channel_name))} |")
    out += [
        f"| Declared | {when(pm.declared_at)} |",
        f"| Acknowledged | {when(pm.acknowledged_at)} (TTA {duration_text(d.tta)}) |",
        f"| Mitigated | {when(pm.mitigated_at)} (TTM {duration_text(d.ttm)}) |",
        f"| Resolved | {when(pm.resolved_at)} (TTR {duration_text(d.ttr)}) |",
    ]
    if pm.ttd is not None:
        out.append(f"| Detected | TTD {duration_text(pm.ttd)} before the declaration |")
    if pm.review_due_at:
        out.append(f"| Review due | {when(pm.review_due_at)} (five business days) |")
    out.append("")
    for section in pm.sections:
        out += [f"## {section.title}", ""]
        body = md_block(section.body, names) if section.body.strip() else "_Not written yet._"
        out.append(body)
        if section.generated and section.body.strip():
            out += ["", "_Draft generated from the timeline; edit it on the web page._"]
        if section.key == "impact":
            out += ["", f"**Cost:** {cost_text(pm)}."]
        out.append("")
    out += detection.markdown_lines(pm.detection, pm.ttd)
    out += ["## Action items", ""]
    if not pm.action_items:
        out.append("_None recorded yet: `/incident action <text> @owner`._")
    for item in pm.action_items:
        owner = person(item.owner_id) if item.owner_id else "**no owner**"
        tick = "x" if item.done else " "
        out.append(
            f"- [{tick}] {md_line(item.text, names)} — owner {owner} "
            f"(added by {person(item.created_by)}, {utc_text(item.created_at)})"
        )
    out += ["", "## Who did what", ""]
    for p in pm.participants:
        out.append(
            f"- {person(p.user_id)} ({', '.join(p.roles)}): {contributions_text(p.contributions)}"
        )
    dated = multi_day(pm)
    out += ["", f"## Timeline ({len(pm.timeline)} events, times UTC)", ""]
    for e in pm.timeline:
        who = f" · {person(e.actor)}" if e.actor else ""
        out.append(f"- `{clock(e.at, with_date=dated)}`{who} · {md_line(e.text, names)}")
    if link:
        out += ["", f"[Open on the web]({link})"]
    out.append("")
    return "\n".join(out)


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at else None


def _duration(delta: timedelta | None) -> dict[str, Any] | None:
    if delta is None:
        return None
    return {"seconds": int(delta.total_seconds()), "text": duration_text(delta)}


def _change(c: Any) -> dict[str, Any]:
    return {"at": _iso(c.at), "actor": c.actor, "before": c.before, "after": c.after}


def to_dict(pm: PostMortem, names: Names | None = None) -> dict[str, Any]:
    """The whole document as plain JSON types; text is raw (escape it where it is shown)."""
    names = names or {}
    users = {p.user_id for p in pm.participants}
    for e in pm.timeline:  # people named inside texts, such as a 📌'd message's `<@U…>`
        users.update(MENTION.findall(e.text))
    return {
        "number": pm.number,
        "title": pm.title,
        "status": pm.status,
        "severity": {
            "current": pm.severity,
            "initial": pm.initial_severity,
            "peak": pm.peak_severity,
            "changes": [_change(c) for c in pm.severity_changes],
        },
        "impact": pm.impact,
        "commander": pm.commander_id,
        "commander_changes": [_change(c) for c in pm.commander_changes],
        "reporter": pm.reporter_id,
        "channel": {"id": pm.channel_id, "name": pm.channel_name},
        "times": {
            "declared_at": _iso(pm.declared_at),
            "acknowledged_at": _iso(pm.acknowledged_at),
            "mitigated_at": _iso(pm.mitigated_at),
            "resolved_at": _iso(pm.resolved_at),
        },
        "durations": {
            "tta": _duration(pm.durations.tta),
            "ttm": _duration(pm.durations.ttm),
            "ttr": _duration(pm.durations.ttr),
            "ttd": _duration(pm.ttd),
            "longest_update_gap": _duration(pm.longest_update_gap),
        },
        "targets": {"ack": _duration(pm.ack_target), "update": _duration(pm.update_target)},
        "detection": detection.as_dicts(pm.detection),
        "participants": [
            {
                "user_id": p.user_id,
                "name": names.get(p.user_id),
                "roles": list(p.roles),
                "contributions": dict(p.contributions),
                "first_seen": _iso(p.first_seen),
            }
            for p in pm.participants
        ],
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "body": s.body,
                "generated": s.generated,
                "edited_by": s.edited_by,
                "edited_at": _iso(s.edited_at),
            }
            for s in pm.sections
        ],
        "action_items": [
            {
                "id": i.id,
                "text": i.text,
                "owner": i.owner_id,
                "created_by": i.created_by,
                "created_at": _iso(i.created_at),
                "done": i.done,
            }
            for i in pm.action_items
        ],
        "review": {"due_at": _iso(pm.review_due_at), "reminder_at": _iso(pm.review_reminder_at)},
        "timeline": [
            {"at": _iso(e.at), "kind": e.kind, "actor": e.actor, "text": e.text, "data": e.detail}
            for e in pm.timeline
        ],
        "event_count": pm.event_count,
        "generated_at": _iso(pm.generated_at),
        "names": {u: n for u, n in names.items() if u in users},
    }


def slack_line(text: str) -> str:
    """First line of a section for Slack: escaped, mentions kept as real mentions."""
    first = next((ln.strip(" -") for ln in text.splitlines() if ln.strip(" -")), "")
    return with_people(first[:280], escape_mrkdwn, lambda u: f"<@{u}>")


def slack_summary(pm: PostMortem, link: str, *, link_expires: datetime | None = None) -> str:
    d = pm.durations
    owned = sum(1 for i in pm.action_items if i.owner_id)
    unowned = len(pm.action_items) - owned
    actions = sum(1 for e in pm.timeline if e.kind == "action")
    root = pm.section("root_cause")
    lines = [
        f"📝 *Post-mortem: incident #{pm.number} — {escape_mrkdwn(pm.title)}*",
        f"*{escape_mrkdwn(severity_text(pm))}* · {pm.status.capitalize()}"
        + (f" {utc_text(pm.resolved_at)}" if pm.resolved_at else ""),
        f"TTA *{duration_text(d.tta)}* · TTM *{duration_text(d.ttm)}* · "
        f"TTR *{duration_text(d.ttr)}*"
        + (f" · TTD *{duration_text(pm.ttd)}*" if pm.ttd is not None else ""),
        f"Commander <@{pm.commander_id}> · {plural(len(pm.participants), 'person')} · "
        f"{plural(actions, 'action')} · {plural(len(pm.action_items), 'action item')}"
        + (f" ({unowned} without an owner)" if unowned else ""),
        "*Root cause:* "
        + (
            (slack_line(root.body) + (" _(draft)_" if root.generated else ""))
            if root.body.strip()
            else "_not written yet_"
        ),
    ]
    if pm.review_due_at:
        lines.append(f"*Review due:* {pm.review_due_at.astimezone(UTC):%a %Y-%m-%d %H:%M} UTC")
    expiry = f" (link valid until {utc_text(link_expires)})" if link_expires else ""
    lines.append(f"<{link}|Read the full post-mortem>{expiry}")
    return "\n".join(lines)
