"""Who an incident's people are, as the card and messages show them. An incident declared by
monitoring (an alert) has no Slack user behind it: its reporter is the source's name
("Alertmanager", "Sentry") and its commander is `UNASSIGNED` until someone acknowledges it,
which makes them the commander (incident.lifecycle.acknowledge)."""

from __future__ import annotations

import re

from incident.escaping import escape_mrkdwn

UNASSIGNED = "unassigned"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")


def is_user(value: str | None) -> bool:
    return bool(value) and bool(_USER_ID.fullmatch(value or ""))


def mention(value: str | None) -> str:
    """A Slack user as a mention; the unassigned commander and a named source as text."""
    if not value or value == UNASSIGNED:
        return "_unassigned_"
    return f"<@{value}>" if is_user(value) else escape_mrkdwn(value)
