"""The incident card's text (runbook 003's Incident Communication Template), the channel
topic and the announcement. Plain mrkdwn strings: handlers wrap them in Block Kit.

Every value is escaped first and then sized to the Block Kit slot it goes into (a field holds
2,000 characters, the Updates section 3,000), so a long impact or a run of long updates still
gives a card Slack accepts; the full texts stay in the timeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from incident.escaping import escape_mrkdwn
from incident.models import Incident
from incident.roles import UNASSIGNED, mention
from incident.severity import DEFINITIONS
from incident.text_limits import FIELD_TEXT, HEADER_TEXT, SECTION_TEXT, clip_mrkdwn, clip_plain
from incident.timefmt import slack_time
from incident.words import plural

MAX_CARD_UPDATES = 5
# One update's share of the Updates section, so a single long one leaves room for others.
MAX_UPDATE_LINE = 700
UPDATES = "Updates"
ACKNOWLEDGED = "Acknowledged"
# A Slack user or workspace-user id; anything else an actor holds is shown as escaped text.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")


@dataclass(frozen=True)
class CardUpdate:
    at: datetime
    text: str


def status_label(status: str) -> str:
    return status.capitalize()


def header(incident: Incident, *, escaped: bool = True) -> str:
    """Escaped for mrkdwn; unescaped (and cut to a header block's 150) for plain_text blocks,
    which Slack never parses."""
    if escaped:
        return f"🚨 INCIDENT #{incident.number}: {escape_mrkdwn(incident.title)}"
    return clip_plain(f"🚨 INCIDENT #{incident.number}: {incident.title}", HEADER_TEXT)


def field_text(label: str, value: str) -> str:
    """A labelled card field as the blocks show it; its length is what Slack limits."""
    return f"*{label}:*\n{value}"


def _update_line(update: CardUpdate) -> str:
    prefix = f"• {slack_time(update.at)} — "
    return prefix + clip_mrkdwn(escape_mrkdwn(update.text), MAX_UPDATE_LINE - len(prefix))


def _hidden_line(hidden: int) -> str:
    return f"_{plural(hidden, 'earlier update')} in the timeline: `/incident timeline`_"


def updates_text(updates: list[CardUpdate], limit: int) -> str:
    """The newest updates that fit in `limit` characters (at most MAX_CARD_UPDATES), oldest
    first, under a line counting the ones left to the timeline."""
    room = limit - len(_hidden_line(len(updates))) - 1
    lines: list[str] = []
    for update in reversed(updates[-MAX_CARD_UPDATES:]):
        line = _update_line(update)
        if not lines:
            line = clip_mrkdwn(line, room)
        if len(line) + 1 > room and lines:
            break
        lines.insert(0, line)
        room -= len(line) + 1
    hidden = len(updates) - len(lines)
    if hidden:
        lines.insert(0, _hidden_line(hidden))
    return "\n".join(lines) if lines else "_none yet_"


def acknowledged_text(incident: Incident, by: str | None) -> str:
    """Who took the incident and when, so nobody has to ask on the channel. `by` comes from
    the timeline (the row keeps only the time); an actor that is no Slack user is shown as
    text."""
    if incident.acknowledged_at is None:
        return "_not yet_"
    when = slack_time(incident.acknowledged_at)
    if not by:
        return when
    who = f"<@{by}>" if _USER_ID.fullmatch(by) else escape_mrkdwn(by)
    return f"{who} · {when}"


def commander_text(incident: Incident) -> str:
    """An alert-declared incident has no commander until someone acknowledges it."""
    if incident.commander_id == UNASSIGNED:
        return "_unassigned: whoever acknowledges becomes the commander_"
    return mention(incident.commander_id)


def card_fields(
    incident: Incident, updates: list[CardUpdate], acknowledged_by: str | None = None
) -> list[tuple[str, str]]:
    """(label, mrkdwn value) in the template's order. The two texts people write are sized so
    that `field_text` fits a section field (2,000) and the Updates a section (3,000); the
    other values are short by construction."""
    sev = incident.severity
    impact = "_not assessed yet_"
    if incident.impact:
        room = FIELD_TEXT - len(field_text("Impact", ""))
        impact = clip_mrkdwn(escape_mrkdwn(incident.impact), room)
    service = [("Service", f"`{escape_mrkdwn(incident.service)}`")] if incident.service else []
    return [
        ("Severity", f"{sev} — {DEFINITIONS[sev]}"),
        ("Status", status_label(incident.status)),
        *service,
        ("Impact", impact),
        ("Started", slack_time(incident.declared_at)),
        (ACKNOWLEDGED, acknowledged_text(incident, acknowledged_by)),
        (UPDATES, updates_text(updates, SECTION_TEXT - len(field_text(UPDATES, "")))),
        ("Incident Commander", commander_text(incident)),
    ]


def card_text(
    incident: Incident, updates: list[CardUpdate], acknowledged_by: str | None = None
) -> str:
    """The whole card as one mrkdwn text: the notification fallback and what the sandbox shows.
    Built from the sized fields, so it stays far below a message's 40,000 characters."""
    fields = card_fields(incident, updates, acknowledged_by)
    body = "\n".join(f"*{label}:* {value}" for label, value in fields)
    return f"*{header(incident)}*\n{body}"


def topic(incident: Incident) -> str:
    """Slack topics hold 250 characters; cut between entities and mentions, not inside."""
    text = (
        f"{incident.severity} · {status_label(incident.status)} · "
        f"IC: {mention(incident.commander_id)} · "
        f"{escape_mrkdwn(incident.title)}"
    )
    return clip_mrkdwn(text, 250, note="…")


def announcement(incident: Incident) -> str:
    if incident.private:  # only that it exists: no title, no channel, no names
        return (
            f"🔒 A private *{incident.severity}* incident #{incident.number} was declared. "
            "Only the people involved are invited."
        )
    channel = f"<#{incident.channel_id}>" if incident.channel_id else "(channel pending)"
    return (
        f"🚨 *{incident.severity}* incident #{incident.number} declared: "
        f"*{escape_mrkdwn(incident.title)}*\n"
        f"Commander: {mention(incident.commander_id)} · "
        f"Reported by {mention(incident.reporter_id)} · "
        f"Join {channel}"
    )
