"""Who may take the incident's big decisions: hand over command, change severity, resolve.

By default the commander, the reporter and members of the responders user group may; the
policy file's `[allowed]` table can name other roles or people per action, e.g.
`severity = ["commander", "responders"]` or `resolve = ["anyone"]`. Anything else (ack,
updates, status, notes) is open to everyone in the channel: more hands help.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from incident.models import Incident
from incident.roles import mention
from incident.severity import Policy

COMMANDER = "commander"
SEVERITY = "severity"
RESOLVE = "resolve"
REOPEN = "reopen"  # by default whoever may resolve (the `[allowed]` table may say otherwise)
ACTIONS = (COMMANDER, SEVERITY, RESOLVE, REOPEN)
DEFAULT_ROLES = ("commander", "reporter", "responders")
WHAT = {
    COMMANDER: "change the incident commander",
    SEVERITY: "change the severity",
    RESOLVE: "resolve the incident",
    REOPEN: "reopen the incident",
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def roles_for(policy: Policy, action: str) -> tuple[str, ...]:
    if action == REOPEN and not policy.allowed.get(REOPEN):
        action = RESOLVE
    return tuple(policy.allowed.get(action) or DEFAULT_ROLES)


def needs_group(policy: Policy, action: str) -> bool:
    """Whether deciding needs the responders group's members (a Slack call for the caller)."""
    return "responders" in roles_for(policy, action)


def _holds(role: str, incident: Incident, user: str, responders: Collection[str]) -> bool:
    if role == "anyone":
        return True
    if role == "commander":
        return user == incident.commander_id
    if role == "reporter":
        return user == incident.reporter_id
    if role == "responders":
        return user in responders
    return role == user  # a user id named in the policy


def _describe(role: str, incident: Incident, group: str | None) -> str | None:
    if role == "commander":
        return f"the commander ({mention(incident.commander_id)})"
    if role == "reporter":
        return f"the reporter ({mention(incident.reporter_id)})"
    if role == "responders":
        return f"members of @{group}" if group else None
    if role == "anyone":
        return "anyone"
    return f"<@{role}>"


def who_may(policy: Policy, action: str, incident: Incident, group: str | None) -> str:
    parts = [
        d for r in roles_for(policy, action) if (d := _describe(r, incident, group)) is not None
    ]
    if not parts:
        return "nobody (check the `[allowed]` table of the policy file)"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def check(
    policy: Policy,
    action: str,
    incident: Incident,
    user: str,
    *,
    responders: Collection[str] = (),
    group: str | None = None,
) -> Decision:
    """`responders` are the members of the responders group (`group` is its handle)."""
    if any(_holds(r, incident, user, responders) for r in roles_for(policy, action)):
        return Decision(True)
    return Decision(
        False,
        f"Only {who_may(policy, action, incident, group)} may {WHAT[action]} "
        f"of incident #{incident.number}.",
    )
