"""The incident card's text (runbook 003's Incident Communication Template), the channel
topic and the announcement. Plain mrkdwn strings: handlers wrap them in Block Kit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from incident.escaping import escape_mrkdwn
from incident.models import Incident
from incident.severity import DEFINITIONS
from incident.timefmt import short_time, slack_time

MAX_CARD_UPDATES = 5


@dataclass(frozen=True)
class CardUpdate:
    at: datetime
    text: str


def status_label(status: str) -> str:
    return status.capitalize()


def header(incident: Incident, *, escaped: bool = True) -> str:
    """Escaped for mrkdwn; unescaped for plain_text blocks, which Slack never parses."""
    title = escape_mrkdwn(incident.title) if escaped else incident.title
    return f"🚨 INCIDENT #{incident.number}: {title}"


def card_fields(incident: Incident, updates: list[CardUpdate]) -> list[tuple[str, str]]:
    """(label, mrkdwn value) in the template's order."""
    sev = incident.severity
    shown = updates[-MAX_CARD_UPDATES:]
    hidden = len(updates) - len(shown)
    lines = [f"• {short_time(u.at)} — {escape_mrkdwn(u.text)}" for u in shown]
    if hidden:
        lines.insert(0, f"_{hidden} earlier update(s): `/incident timeline`_")
    return [
        ("Severity", f"{sev} — {DEFINITIONS[sev]}"),
        ("Status", status_label(incident.status)),
        ("Impact", escape_mrkdwn(incident.impact) if incident.impact else "_not assessed yet_"),
        ("Started", slack_time(incident.declared_at)),
        ("Updates", "\n".join(lines) if lines else "_none yet_"),
        ("Incident Commander", f"<@{incident.commander_id}>"),
    ]


def card_text(incident: Incident, updates: list[CardUpdate]) -> str:
    """The whole card as one mrkdwn text: the notification fallback and what the sandbox shows."""
    body = "\n".join(f"*{label}:* {value}" for label, value in card_fields(incident, updates))
    return f"*{header(incident)}*\n{body}"


def topic(incident: Incident) -> str:
    """Slack topics are plain text up to 250 characters; no mentions there."""
    text = (
        f"{incident.severity} · {status_label(incident.status)} · IC: <@{incident.commander_id}> · "
        f"{escape_mrkdwn(incident.title)}"
    )
    return text[:250]


def announcement(incident: Incident) -> str:
    channel = f"<#{incident.channel_id}>" if incident.channel_id else "(channel pending)"
    return (
        f"🚨 *{incident.severity}* incident #{incident.number} declared: "
        f"*{escape_mrkdwn(incident.title)}*\n"
        f"Commander: <@{incident.commander_id}> · Reported by <@{incident.reporter_id}> · "
        f"Join {channel}"
    )
