"""The "Declare incident" button of an alert offer (posted by a rule with `post: true`): the
person who presses declares it, the way a rule does (bot.flows.alerts.declared: the incident
stored under the service's lock with the alert, its Slack set-up after the commit), and becomes
its commander. If the service has an open incident by then, the alert attaches to it instead.
A second press (or another person's) finds the alert already declared."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.flows import card as incident_card
from bot.flows.alerts import declared, store
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui import alerts as ui
from incident.alerts import FIRING
from incident.models import AlertRecord, Incident
from incident.severity import normalise
from incident.text_limits import clip_plain

log = get_logger(__name__)


def severity_of(services: Services, labels: dict) -> str:
    """The alert's `severity` label when it names a level (`critical`, `P1`, `SEV2`), else
    the default severity."""
    word = str(labels.get("severity") or "")
    found = normalise(word, services.policy.aliases) if word.strip() else None
    return found or services.settings.default_severity


async def declare_offered(
    services: Services,
    alert_id: int,
    user: str,
    notify: Callable[[str], Awaitable[object]],
    offer_blocks: list[dict],
) -> str:
    """What the presser is told; `offer_blocks` are the pressed message's."""
    async with services.sessions() as session:
        row = await session.get(AlertRecord, alert_id)
    if row is None:
        return "⚠️ This alert is not known any more; nothing was done."
    now = services.clock.now()
    refresh: Incident | None = None
    new: int | None = None
    async with services.transaction() as session:
        await store.lock_service(session, row.service)
        row = await session.get(AlertRecord, alert_id, with_for_update=True)
        assert row is not None
        if row.incident_number is not None:
            answer = f"This alert is already incident #{row.incident_number}."
        elif (inc := await store.open_incident(session, row.service)) is not None:
            await store.attach(session, row, inc.number, actor=user, now=now)
            refresh = inc
            answer = f"The service already has incident #{inc.number}; the alert is attached to it."
        else:
            # stored under the lock with the alert; the Slack set-up after the commit
            title = " ".join((row.summary or row.name).split())
            if row.service and row.service.lower() not in title.lower():
                title = f"{row.service}: {title}"
            inc, created = await declared.store_incident(
                session,
                title=clip_plain(title, 150),
                severity=severity_of(services, row.labels),
                reporter=user,
                commander=user,
                key=f"alert-offer:{alert_id}",
                now=now,
                service=row.service,
                detected_at=row.starts_at,
            )
            if inc is None:
                return "⚠️ The incident could not be declared; nothing was attached."
            await store.attach(session, row, inc.number, actor=user, now=now)
            if created:
                new = inc.number
                answer = ""  # the declarer hears the outcome through notify
            else:
                refresh = inc
                answer = f"This alert is already incident #{inc.number}."
        number = row.incident_number
        post = (row.post_channel, row.post_ts, row.status)
    if new is not None:
        await declared.set_up(services, new, notify)  # its card shows the alert
    if refresh is not None:
        async with services.sessions() as session:
            fresh = await session.get(Incident, refresh.number)
        if fresh is not None and fresh.is_open:
            await incident_card.refresh(services, fresh)
    await _mark_offer(services, post, number, user, offer_blocks)
    return answer


async def _mark_offer(
    services: Services,
    post: tuple[str | None, str | None, str],
    number: int | None,
    user: str,
    blocks: list[dict],
) -> None:
    """The offer's button gives way to who took it and which incident it is now."""
    channel, ts, status = post
    if not channel or not ts or number is None:
        return
    state = "" if status == FIRING else " (the alert has resolved since)"
    note = f"Taken by <@{user}>: incident #{number}{state}."
    try:
        await services.slack.chat_update(
            channel=channel, ts=ts, blocks=ui.offer_done_blocks(blocks, note), text=note
        )
    except Exception as exc:  # the offer stays; the incident exists
        log.warning("could not update the alert offer", error_type=type(exc).__name__)
