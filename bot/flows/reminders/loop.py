"""The reminder scheduler: every replica runs it, and each reminder still goes out once.

Each tick asks `incident.reminders` what is due (from Postgres alone, so a restart loses
nothing), then claims every due reminder by storing its timeline event under a deterministic
key, with the incident row locked, *before* sending. A replica that loses the race sees the
key taken and sends nothing. If Slack refuses the message, the claim is removed so a later
tick tries again.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from sqlalchemy import delete, select

from bot.background import background_task, every
from bot.flows.lifecycle import service as lifecycle_service
from bot.flows.oncall.policy import pages_incident
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.channels import ChannelMissing
from bot.slack.ui.incident_text import suggest_resolve_blocks
from incident import event_kinds as K
from incident import registry, reminders, timeline
from incident.escaping import escape_mrkdwn
from incident.models import Incident, TimelineEvent
from incident.reminders import Due
from incident.roles import mention
from incident.timefmt import duration_text, utc_text

log = get_logger(__name__)


def interval(services: Services) -> float:
    """Read each round: tests and the sandbox change it on a running process."""
    return services.settings.reminder_interval_s


@background_task("reminders", stops_at_idle=True)
async def run(services: Services) -> None:
    # `reminders_paused` (every's default): the sandbox and tests stop the scheduler of this
    # process. A lambda, so each round calls the module's `tick` (tests wrap it).
    await every(services, interval=interval, tick=lambda s: tick(s), what="reminder tick failed")


async def tick(services: Services) -> int:
    """Send whatever is due now; returns how many reminders this replica sent."""
    now = services.clock.now()
    async with services.sessions() as session:
        incidents = await registry.open_incidents(session)
        found: list[tuple[Incident, Due]] = []
        for inc in incidents:
            events = (
                await timeline.events(session, inc.number, kinds=reminders.MONITORING_KINDS)
                if inc.status == "monitoring"
                else []
            )
            # an escalation policy pages this incident: the ack escalation is its job
            paged = pages_incident(services, inc)
            found += [
                (inc, d)
                for d in reminders.due_reminders(inc, events, services.policy, now)
                if not (paged and d.kind == reminders.ACK)
            ]
        if not found:
            return 0
        taken = set(
            (
                await session.scalars(
                    select(TimelineEvent.dedupe_key).where(
                        TimelineEvent.dedupe_key.in_([d.key for _, d in found])
                    )
                )
            ).all()
        )
    sent = 0
    for inc, due in found:
        if due.key in taken:
            continue
        claimed = await _claim(services, inc.number, due)
        if claimed is None:
            continue
        if await _send(services, claimed, due):
            sent += 1
        else:
            await _release(services, due)
    return sent


def _event_kind(due: Due) -> str:
    return K.ESCALATION if due.kind == reminders.ACK else K.REMINDER


async def _claim(services: Services, number: int, due: Due) -> Incident | None:
    """Store the reminder under its key with the row locked, after checking it is still
    due: an ack that lands meanwhile cancels the escalation."""
    now = services.clock.now()
    async with services.transaction() as session:
        inc = await registry.get(session, number, for_update=True)
        if inc is None:
            return None
        events = await timeline.events(session, number, kinds=reminders.MONITORING_KINDS)
        still = reminders.due_reminders(inc, events, services.policy, now)
        if due.key not in {d.key for d in still}:
            return None
        data: dict = {"kind": due.kind, "due": due.due.isoformat(), "count": due.count}
        if due.kind == reminders.ACK:
            data.update(deadline=due.due.isoformat(), group=_group(services, inc))
        if not await timeline.record(
            session, number, _event_kind(due), at=now, data=data, key=due.key
        ):
            return None
    return inc


async def _release(services: Services, due: Due) -> None:
    async with services.transaction() as session:
        await session.execute(delete(TimelineEvent).where(TimelineEvent.dedupe_key == due.key))


def _group(services: Services, inc: Incident) -> str | None:
    return lifecycle_service.oncall_group(services, inc.severity)


async def _mention(services: Services, inc: Incident) -> str:
    """`<!subteam^ID>` pages the group; without one, the commander is the last resort."""
    handle = _group(services, inc)
    if not handle:
        return mention(inc.commander_id)
    try:
        gid = await lifecycle_service.group_id(services, handle)
    except SlackApiError as exc:
        log.warning("user group lookup failed", group=handle, error=exc.response.get("error"))
        gid = None
    if gid:
        return f"<!subteam^{gid}>"
    return f"@{handle.lstrip('@')} (group not found) {mention(inc.commander_id)}"


def _nth(count: int) -> str:
    return "" if count <= 1 else f" (escalation {count})"


async def _post(services: Services, channel: str | None, **message: object) -> bool:
    if not channel:
        return False
    try:
        await services.slack.chat_postMessage(channel=channel, **message)
    except SlackApiError as exc:
        log.warning("reminder not posted", channel=channel, error=exc.response.get("error"))
        return False
    return True


async def _announce(services: Services, text: str) -> bool:
    try:
        await services.channels.post(services.settings.incidents_channel, text=text)
    except (SlackApiError, ChannelMissing) as exc:
        log.warning("escalation not announced", error_type=type(exc).__name__)
        return False
    return True


async def _send(services: Services, inc: Incident, due: Due) -> bool:
    """True when at least one message reached Slack."""
    now = services.clock.now()
    # a private incident's title stays in its channel
    title = "(private incident)" if inc.private else escape_mrkdwn(inc.title)
    if due.kind == reminders.ACK:
        who = await _mention(services, inc)
        late = duration_text(now - inc.declared_at)
        where = f" <#{inc.channel_id}>" if inc.channel_id else ""
        in_channel = await _post(
            services,
            inc.channel_id,
            text=f"🚨 Incident #{inc.number} ({inc.severity}) is still not acknowledged, {late} "
            f"after it was declared{_nth(due.count)}. {who} please respond: press "
            "*Acknowledge* on the card or run `/incident ack`.",
        )
        announced = await _announce(
            services,
            f"🚨 Escalation{_nth(due.count)}: {inc.severity} incident #{inc.number} *{title}*"
            f"{where} has not been acknowledged for {late}. {who}",
        )
        return in_channel or announced
    if due.kind == reminders.UPDATE:
        every = services.policy.for_severity(inc.severity).update_every
        return await _post(
            services,
            inc.channel_id,
            text=f"⏰ {mention(inc.commander_id)}, incident #{inc.number} has had no update since "
            f"{utc_text(due.since or inc.declared_at)} ({inc.severity} asks for one every "
            f"{duration_text(every)}). Post one with `/incident update <text>` or the card's "
            "*Post update* button.",
        )
    return await _suggest_resolving(services, inc, due)


async def _suggest_resolving(services: Services, inc: Incident, due: Due) -> bool:
    quiet = duration_text(services.policy.monitoring_window)
    text = (
        f"👀 Incident #{inc.number} has been in monitoring for {quiet} with nothing new. "
        f"{mention(inc.commander_id)}, if it is fixed, resolve it."
    )
    return await _post(
        services, inc.channel_id, text=text, blocks=suggest_resolve_blocks(inc, text)
    )
