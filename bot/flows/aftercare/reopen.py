"""*Reopen*: a resolved incident back to Mitigating, for someone who may (by default whoever
may resolve it: `incident.permissions.REOPEN`). The lifecycle service's `apply` refuses a
resolved incident by design, so this is its one counterpart: lock the row, check who may
(a refusal is audited as a `denied` event), apply `incident.lifecycle.reopen`, commit; then
tell Slack (card, commander, channel, #incidents). A second press finds the incident open
and changes nothing."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.flows.lifecycle.service import (
    Applied,
    PermissionDenied,
    group_members,
    refresh_card,
    responders_group,
)
from bot.flows.stakeholders import summary as stakeholder_summary
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.channels import ChannelMissing
from incident import event_kinds as K
from incident import lifecycle, permissions, registry, timeline
from incident.escaping import escape_mrkdwn
from incident.lifecycle import LifecycleError
from incident.roles import is_user, mention

log = get_logger(__name__)


async def reopen(services: Services, number: int, *, actor: str, key: str | None) -> Applied:
    """Raises LifecycleError (already open, no such incident, not allowed)."""
    group = responders_group(services)
    responders: frozenset[str] = frozenset()
    if permissions.needs_group(services.policy, permissions.REOPEN):
        responders = await group_members(services, group)
    denied: str | None = None
    async with services.transaction() as session:
        inc = await registry.get(session, number, for_update=True)
        now = services.clock.now()
        if inc is None:
            raise LifecycleError(f"There is no incident #{number}.")
        decision = permissions.check(
            services.policy, permissions.REOPEN, inc, actor, responders=responders, group=group
        )
        if not decision.allowed:
            denied = decision.reason
            await timeline.record(
                session,
                number,
                K.DENIED,
                at=now,
                actor=actor,
                data={"what": permissions.REOPEN, "reason": decision.reason},
                key=f"denied:{key}" if key else None,
            )
        else:
            outcome = await lifecycle.reopen(session, inc, actor=actor, now=now, key=key)
    if denied is not None:  # raised after the commit, so the audit event is kept
        raise PermissionDenied(denied)
    return Applied(outcome)


def channel_text(applied: Applied, actor: str) -> str:
    inc = applied.incident
    return (
        f"↩️ <@{actor}> reopened incident #{inc.number}: back to *Mitigating*. "
        f"{mention(inc.commander_id)}, you are the commander; the card's buttons and the "
        "reminders are back."
    )


def announcement_text(applied: Applied) -> str:
    inc = applied.incident
    where = f" <#{inc.channel_id}>" if inc.channel_id else ""
    if getattr(inc, "private", False):  # a private incident's title is never announced
        return f"↩️ Private incident #{inc.number} ({inc.severity}) was reopened."
    return (
        f"↩️ Incident #{inc.number} reopened ({inc.severity}): *{escape_mrkdwn(inc.title)}*{where}"
    )


async def follow_up(services: Services, applied: Applied, actor: str) -> None:
    """Slack's side of the reopening; trouble is collected in `applied.problems`."""
    if not applied.outcome.changed:
        return
    inc, problems = applied.incident, applied.problems
    if (error := await refresh_card(services, inc.number)) is not None:
        problems.append(f"refresh the card: `{error}`")
    if inc.channel_id and is_user(inc.commander_id):
        try:  # the commander may have left the resolved channel
            await services.slack.conversations_invite(
                channel=inc.channel_id, users=inc.commander_id
            )
        except SlackApiError as exc:
            if exc.response.get("error") != "already_in_channel":
                problems.append(f"invite the commander: `{exc.response.get('error')}`")
    if inc.channel_id:
        try:
            await services.slack.chat_postMessage(
                channel=inc.channel_id, text=channel_text(applied, actor)
            )
        except SlackApiError as exc:
            problems.append(f"post in the channel: `{exc.response.get('error')}`")
    name = services.settings.incidents_channel
    try:
        await services.channels.post(name, text=announcement_text(applied))
    except (SlackApiError, ChannelMissing) as exc:
        problems.append(f"announce in #{name}: {type(exc).__name__}")
    # stakeholders were told it was resolved; tell them it is not
    problems += await stakeholder_summary.refresh(services, inc.number)
    if problems:
        log.warning("reopen follow-up incomplete", incident=inc.number, problems=problems)
