"""Running a lifecycle rule for a command or a button: lock the incident row, check who may,
apply and commit (`apply`); then tell Slack: card, topic, channel, #incidents, post-mortem
(`follow_up`).

Slack trouble after the commit never undoes the change: it comes back as `problems`, so the
person hears "done, but the card could not be refreshed" rather than a false failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapters.locks import LockUnavailable
from bot.flows import card as incident_card
from bot.flows.oncall import acked as page_dms
from bot.flows.postmortem import delivery as postmortem_delivery
from bot.flows.stakeholders import summary as stakeholder_summary
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack import usergroups
from bot.slack.channels import ChannelMissing
from incident import event_kinds as K
from incident import permissions, registry, timeline
from incident.card import status_label
from incident.escaping import escape_mrkdwn
from incident.lifecycle import IncidentResolved, LifecycleError, Outcome
from incident.models import Incident
from incident.timefmt import short_time

log = get_logger(__name__)

Rule = Callable[[AsyncSession, Incident, datetime], Awaitable[Outcome]]
Change = Callable[..., Awaitable[Outcome]]
CARD_LOCK_TTL_S = 15.0


class PermissionDenied(LifecycleError):
    """Refused by the policy; the refusal is on the timeline as a `denied` event."""


@dataclass
class Applied:
    outcome: Outcome
    # Slack steps that failed after the change was stored.
    problems: list[str] = field(default_factory=list)

    @property
    def incident(self) -> Incident:
        return self.outcome.incident


# -- user groups ------------------------------------------------------------------------


def responders_group(services: Services) -> str | None:
    return services.settings.responders_group or services.policy.responders_group


def oncall_group(services: Services, severity: str) -> str | None:
    page = services.policy.for_severity(severity).page_group
    return page or services.settings.oncall_group or services.policy.oncall_group


async def group_id(services: Services, handle: str) -> str | None:
    """Slack mentions a group by id (`<!subteam^S123>`); people configure its handle."""
    return await usergroups.group_id(services.slack, services.caches.usergroup_ids, handle)


async def group_members(services: Services, handle: str | None) -> frozenset[str]:
    """Members of a group, cached a minute; empty when Slack cannot say (denials then name
    who else may act)."""
    caches = services.caches
    return await usergroups.group_members(
        services.slack, caches.usergroup_ids, caches.usergroup_members, handle
    )


def rule_of(change: Change, *args: Any, actor: str, key: str | None, **kwargs: Any) -> Rule:
    """A rule of `incident.lifecycle` (`acknowledge`, `set_severity`…) with the request's
    own arguments bound; `apply` supplies the locked row and the time."""

    async def rule(session: AsyncSession, incident: Incident, now: datetime) -> Outcome:
        return await change(session, incident, *args, actor=actor, now=now, key=key, **kwargs)

    return rule


# -- applying ----------------------------------------------------------------------------


async def apply(
    services: Services,
    number: int,
    rule: Rule,
    *,
    actor: str,
    permission: str | None = None,
    key: str | None = None,
) -> Applied:
    """Run `rule` on the locked incident; raises LifecycleError (stale, denied, bad input)."""
    group = responders_group(services)
    responders: frozenset[str] = frozenset()
    if permission and permissions.needs_group(services.policy, permission):
        responders = await group_members(services, group)
    denied: str | None = None
    async with services.transaction() as session:
        inc = await registry.get(session, number, for_update=True)
        now = services.clock.now()  # after the lock: events stay in the order applied
        if inc is None:
            raise LifecycleError(f"There is no incident #{number}.")
        if not inc.is_open:
            raise IncidentResolved(inc)
        if permission:
            decision = permissions.check(
                services.policy, permission, inc, actor, responders=responders, group=group
            )
            if not decision.allowed:
                denied = decision.reason
                await timeline.record(
                    session,
                    number,
                    K.DENIED,
                    at=now,
                    actor=actor,
                    data={"what": permission, "reason": decision.reason},
                    key=f"denied:{key}" if key else None,
                )
        if denied is None:
            outcome = await rule(session, inc, now)
    if denied is not None:  # raised after the commit, so the audit event is kept
        raise PermissionDenied(denied)
    return Applied(outcome)


async def precheck(
    services: Services, number: int, actor: str, permission: str | None, *, key: str | None = None
) -> Incident:
    """Before opening a modal: a stale or refused request is told now, not after someone
    filled in the form. The submission is checked again under the row lock."""
    applied = await apply(services, number, _no_change, actor=actor, permission=permission, key=key)
    return applied.incident


async def _no_change(_: AsyncSession, incident: Incident, __: datetime) -> Outcome:
    return Outcome(incident)


# -- telling the person -------------------------------------------------------------------


def confirmation(outcome: Outcome) -> str:
    """The ephemeral answer to whoever asked, including "nothing to do"."""
    inc = outcome.incident
    n = f"#{inc.number}"
    if outcome.duplicate:
        return f"Already done: this request on incident {n} was applied before."
    if outcome.change(K.RESOLVED):
        return f"Incident {n} is resolved. Thank you!"
    if outcome.change(K.UPDATE):
        return f"Update posted to incident {n}."
    if sev := outcome.change(K.SEVERITY):
        return f"Severity of incident {n}: {sev.before} → *{sev.after}*."
    if ic := outcome.change(K.COMMANDER):
        return f"<@{ic.after}> is now the commander of incident {n}."
    if status := outcome.change(K.STATUS):
        return (
            f"Status of incident {n}: {status_label(status.before)} → "
            f"*{status_label(status.after)}*."
        )
    if outcome.change(K.NOTE):
        return f"Note added to the timeline of incident {n}."
    if outcome.change(K.ACKNOWLEDGED):
        return f"Incident {n} acknowledged."
    return _unchanged(outcome.incident)


def _unchanged(inc: Incident) -> str:
    if inc.acknowledged_at is not None:
        ack = f"acknowledged at {short_time(inc.acknowledged_at)}"
    else:
        ack = "not acknowledged yet"
    return (
        f"Nothing to change: incident #{inc.number} is already {inc.severity}, "
        f"{status_label(inc.status)}, commanded by <@{inc.commander_id}>, {ack}."
    )


def problems_text(applied: Applied) -> str:
    return (
        f"⚠️ The change to incident #{applied.incident.number} is saved, but Slack refused to "
        + "; ".join(applied.problems)
        + "."
    )


# -- telling Slack ------------------------------------------------------------------------


async def refresh_card(services: Services, number: int) -> str | None:
    """Re-read and redraw under a lock, so two changes landing together cannot leave the
    card showing the older one."""
    held = None
    try:
        for _ in range(50):
            held, _owner = await services.locks.acquire(f"card:{number}", CARD_LOCK_TTL_S)
            if held:
                break
            await asyncio.sleep(0.1)
    except LockUnavailable:
        held = None  # redraw unlocked: a stale card beats no card
    try:
        async with services.sessions() as session:
            inc = await registry.get(session, number)
        return await incident_card.refresh(services, inc) if inc else None
    finally:
        if held:
            await services.locks.release(held)


async def _say(services: Services, channel: str | None, text: str, problems: list[str]) -> None:
    if not channel:
        return
    try:
        await services.slack.chat_postMessage(channel=channel, text=text)
    except SlackApiError as exc:
        problems.append(f"post in the channel: `{exc.response.get('error')}`")


async def _announce(services: Services, text: str, problems: list[str]) -> None:
    name = services.settings.incidents_channel
    try:
        await services.channels.post(name, text=text)
    except ChannelMissing:
        problems.append(f"announce in #{name}: channel not found")
    except SlackApiError as exc:
        problems.append(f"announce in #{name}: `{exc.response.get('error')}`")


def channel_message(outcome: Outcome, actor: str) -> str | None:
    """What the incident channel is told, one line per change."""
    inc = outcome.incident
    lines: list[str] = []
    update = outcome.change(K.UPDATE)
    if update:
        extra = []
        if status := outcome.change(K.STATUS):
            extra.append(f"status → *{status_label(status.after)}*")
        if impact := outcome.change(K.IMPACT):
            extra.append(f"impact: {escape_mrkdwn(impact.after)}")
        suffix = f" ({'; '.join(extra)})" if extra else ""
        lines.append(f"📣 *Update* from <@{actor}>{suffix}:\n{escape_mrkdwn(update.after)}")
    else:
        if status := outcome.change(K.STATUS):
            lines.append(
                f"<@{actor}> moved the status {status_label(status.before)} → "
                f"*{status_label(status.after)}*."
            )
        if outcome.change(K.ACKNOWLEDGED):
            lines.append(f"✅ <@{actor}> acknowledged incident #{inc.number}.")
    if sev := outcome.change(K.SEVERITY):
        lines.append(f"<@{actor}> changed the severity {sev.before} → *{sev.after}*.")
    if ic := outcome.change(K.COMMANDER):
        lines.append(f"<@{actor}> made <@{ic.after}> the incident commander (was <@{ic.before}>).")
    if outcome.change(K.RESOLVED):
        summary = f"\n>{escape_mrkdwn(inc.summary)}" if inc.summary else ""
        lines.append(f"✅ <@{actor}> resolved incident #{inc.number}.{summary}")
    return "\n".join(lines) or None


def announcement(outcome: Outcome, actor: str) -> str | None:
    """#incidents hears about an escalation to SEV1 and about resolution."""
    inc = outcome.incident
    if inc.private:
        # what #incidents heard at declaration, no more: no title, channel, names or summary
        if (sev := outcome.change(K.SEVERITY)) and sev.after == "SEV1":
            return f"🔒 Private incident #{inc.number} raised to *SEV1* (was {sev.before})."
        if outcome.change(K.RESOLVED):
            return f"🔒 Private incident #{inc.number} resolved ({inc.severity})."
        return None
    where = f" <#{inc.channel_id}>" if inc.channel_id else ""
    title = escape_mrkdwn(inc.title)
    if (sev := outcome.change(K.SEVERITY)) and sev.after == "SEV1":
        return (
            f"🔺 Incident #{inc.number} raised to *SEV1* (was {sev.before}) by <@{actor}>: "
            f"*{title}*{where} · IC <@{inc.commander_id}>"
        )
    if outcome.change(K.RESOLVED):
        summary = f"\n>{escape_mrkdwn(inc.summary)}" if inc.summary else ""
        return f"✅ Incident #{inc.number} resolved ({inc.severity}): *{title}*{where}{summary}"
    return None


async def follow_up(services: Services, applied: Applied, actor: str) -> None:
    """Slack's side of a stored change; callers run it after answering the person, since
    it can take longer than Slack's three seconds."""
    outcome, problems = applied.outcome, applied.problems
    if not outcome.changed:
        return
    inc = outcome.incident
    if (error := await refresh_card(services, inc.number)) is not None:
        problems.append(f"refresh the card: `{error}`")
    if ic := outcome.change(K.COMMANDER):
        await _invite(services, inc, ic.after, problems)
    if text := channel_message(outcome, actor):
        await _say(services, inc.channel_id, text, problems)
    if text := announcement(outcome, actor):
        await _announce(services, text, problems)
    if outcome.change(K.RESOLVED):
        await _postmortem(services, inc.number, problems)
    if outcome.change(K.ACKNOWLEDGED):
        await page_dms.show_acknowledged(services, inc.number)  # at once, not at the next tick
    if stakeholder_summary.concerns({c.kind for c in outcome.changes}):
        problems += await stakeholder_summary.refresh(services, inc.number)
    if problems:
        log.warning("lifecycle follow-up incomplete", incident=inc.number, problems=problems)


async def _invite(services: Services, inc: Incident, user: str, problems: list[str]) -> None:
    if not inc.channel_id:
        return
    try:
        await services.slack.conversations_invite(channel=inc.channel_id, users=user)
    except SlackApiError as exc:
        if exc.response.get("error") != "already_in_channel":
            problems.append(f"invite <@{user}>: `{exc.response.get('error')}`")


async def _postmortem(services: Services, number: int, problems: list[str]) -> None:
    """The post-mortem is delivered once the resolution is stored; its trouble is reported,
    never allowed to undo the resolution."""
    try:
        await postmortem_delivery.on_resolved(services, number)
    except Exception as exc:  # resolution stands whatever the post-mortem does
        log.error("post-mortem delivery failed", incident=number, error_type=type(exc).__name__)
        problems.append(f"deliver the post-mortem: {type(exc).__name__}")
