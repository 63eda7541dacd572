"""The short summary stakeholder channels read: what, how bad, where it stands, the latest
public update. Never the internal chatter: no notes, no pins, no update that was not marked
public, no impact text, no resolution summary. A private (security) incident shows neither
its title nor any update text, only that it exists and where it stands.

Pure: the flow (`bot.flows.stakeholders`) reads the incident and its public updates, posts
this text once per channel and edits it in place as the incident moves.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from incident.card import status_label
from incident.escaping import escape_mrkdwn
from incident.models import Incident
from incident.slack_text import decode, to_plain
from incident.timefmt import slack_time

MAX_UPDATE = 1200
SEVERITY_ICON = {"SEV1": "🔴", "SEV2": "🟠", "SEV3": "🟡", "SEV4": "⚪"}
SETUP_KEY = "stakeholders"  # incidents.setup[SETUP_KEY] = {channel_id: {ts, digest}}


@dataclass(frozen=True)
class PublicUpdate:
    at: datetime
    text: str  # as stored (Slack's text); made plain when shown


# Slack's own markup: people, channels, broadcasts and groups, links. Any other `<…>` is the
# author's text (a form's text arrives unescaped, a command's escaped: both end up plain).
_MARKUP = re.compile(r"<((?:[@#!]|https?://|mailto:)[^<>]*)>")


def public_text(text: str) -> str:
    """A public update as its author wrote it, with people left out (`@responder`)."""
    out: list[str] = []
    pos = 0
    for m in _MARKUP.finditer(text):
        out.append(decode(text[pos : m.start()]))
        out.append(to_plain(m.group(0), lambda _user: "@responder") or "")
        pos = m.end()
    out.append(decode(text[pos:]))
    return "".join(out)


def summary_text(
    incident: Incident,
    updates: Sequence[PublicUpdate],
    *,
    mentions: Sequence[str] = (),
) -> str:
    """mrkdwn for the stakeholder message; `mentions` are `<!subteam^S…>` tokens."""
    icon = SEVERITY_ICON.get(incident.severity, "⚪")
    if incident.private:
        what = f"Incident #{incident.number} (private: details are restricted)"
    else:
        what = f"Incident #{incident.number}: {escape_mrkdwn(incident.title)}"
    lines = [f"{icon} *{incident.severity}* · {what}"]
    facts = [f"Status: *{status_label(incident.status)}*"]
    if incident.service:
        facts.append(f"Service: `{escape_mrkdwn(incident.service)}`")
    facts.append(f"Declared {slack_time(incident.declared_at)}")
    if incident.resolved_at is not None:
        facts.append(f"Resolved {slack_time(incident.resolved_at)}")
    if not incident.private:
        facts.append(f"Commander <@{incident.commander_id}>" if _is_user(incident) else "")
    lines.append(" · ".join(f for f in facts if f))
    if updates and not incident.private:
        latest = max(updates, key=lambda u: u.at)
        body = public_text(latest.text)
        if len(body) > MAX_UPDATE:
            body = body[: MAX_UPDATE - 1] + "…"
        lines.append(f"*Latest update* ({slack_time(latest.at)}):\n>{escape_mrkdwn(body)}")
    if incident.resolved_at is not None:
        lines.append("✅ This incident is resolved.")
    if mentions:
        lines.append("cc " + " ".join(mentions))
    return "\n".join(lines)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _is_user(incident: Incident) -> bool:
    return incident.commander_id[:1] in {"U", "W"}
