"""What an alert does, decided once per occurrence and state:

- a firing alert for a service with an open incident attaches to it (timeline, card count);
- otherwise the first matching `alerts.rules` rule of the catalog declares an incident (reporter
  the source, commander unassigned until someone acknowledges: incident.roles) or posts an
  offer with a "Declare incident" button in `alerts.channel`;
- a resolved alert goes on its incident's timeline and off the card's count; when none of the
  incident's alerts is firing any more the commander is asked, once, whether to resolve.
  warroom never resolves by itself.

Redeliveries (Alertmanager's repeat_interval, retries, replicas on both sides) change nothing:
the alert's row is keyed by its occurrence, the timeline entry by occurrence and state, and
the decision for a service is taken under a Postgres advisory lock.

A notification's alerts are decided per service in ONE transaction under ONE lock: the rows,
the timeline entries and, when a rule declares, the incident row itself (bot.flows.alerts
.declared). Nothing talks to Slack under the lock except an offer's post. After the commit,
once per notification and incident: the new incident's Slack set-up, or one card refresh,
and the question to the commander. The answer waits for that work only briefly
(FOLLOW_UP_WAIT_S, and never past FOLLOW_UP_BUDGET_S: Alertmanager gives up after 10 s); what
is left then finishes after the answer. Refreshes of one card do not overlap in a process,
and one that may have raced another replica's is done again. Storage errors of the decision
propagate: the route answers 503 and Alertmanager sends the notification again; a failure
after the commit loses no alert.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapters.catalog.model import Catalog
from bot.flows import card as incident_card
from bot.flows.alerts import declared, store
from bot.logging_setup import get_logger
from bot.metrics import ALERTS_RECEIVED
from bot.services import Services
from bot.slack.channels import ChannelMissing
from bot.slack.ui import alerts as ui
from incident.alerts import SENTRY, Alert, Notification, bounded, with_service
from incident.models import Incident
from incident.roles import UNASSIGNED
from incident.text_limits import clip_plain

log = get_logger(__name__)
TITLE_MAX = 150
# The answer waits this long for the Slack work after the commit (in a quiet moment it is
# done by then), never past FOLLOW_UP_BUDGET_S after the request began: Alertmanager's webhook
# timeout is 10 s (the lock wait, store.LOCK_WAIT, 7 s). The rest finishes after the answer.
FOLLOW_UP_WAIT_S = 0.5
FOLLOW_UP_BUDGET_S = 8.0
REFRESH_ROUNDS = 3
_LATER: set[asyncio.Task[Any]] = set()  # follow-ups still running after the answer
_REFRESHING: set[int] = set()  # incidents whose card this process is refreshing
_AGAIN: set[int] = set()  # ... and asked to refresh again meanwhile


@dataclass(frozen=True)
class Result:
    outcome: str  # declared | attached | resolved | posted | duplicate | unrouted | ignored
    incident: int | None = None

    def as_dict(self) -> dict:
        return {"outcome": self.outcome, "incident": self.incident}


@dataclass
class _After:
    """What is done once the decisions are committed, once per incident."""

    declared: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # → alerts stored
    refresh: dict[int, None] = field(default_factory=dict)  # an ordered set
    ask: dict[int, int] = field(default_factory=dict)  # → how many alerts, all resolved

    def merge(self, other: _After) -> None:
        self.declared.update(other.declared)
        self.refresh.update(other.refresh)
        self.ask.update(other.ask)

    def __bool__(self) -> bool:
        return bool(self.declared or self.refresh or self.ask)


def service_of(catalog: Catalog | None, alert: Alert) -> str | None:
    """The catalog service an alert belongs to: its `service` label, or for Sentry the
    service listing its project. A name the catalog does not know routes nowhere."""
    if catalog is None:
        return None
    if alert.source == SENTRY:
        found = catalog.service_for_sentry_project(alert.project) if alert.project else None
        if found is not None:
            return found.name
    label = alert.service_label
    return label if label in catalog.names else None


async def receive(services: Services, notification: Notification) -> list[Result]:
    started = time.monotonic()
    catalog = services.catalog.current
    by_service: dict[str | None, list[tuple[int, Alert]]] = {}
    for i, raw in enumerate(notification.alerts):
        service = service_of(catalog, raw)
        by_service.setdefault(service, []).append((i, with_service(raw, service)))
    results: list[Result] = [Result("unrouted")] * len(notification.alerts)
    after = _After()
    try:
        for service, items in by_service.items():
            decided = await _decide(services, catalog, service, [a for _, a in items], after)
            for (i, alert), result in zip(items, decided, strict=True):
                ALERTS_RECEIVED.labels(alert.source, result.outcome).inc()
                results[i] = result
    except BaseException:
        if after:  # what an earlier service committed still gets its Slack work
            _keep(asyncio.create_task(_follow_up(services, after)))
        raise
    if after:
        await _follow_up_in_time(services, after, started)
    log.info(
        "alerts received",
        source=notification.source,
        alerts=len(results),
        services=len(by_service),
        outcomes=sorted({r.outcome for r in results}),
        elapsed_ms=round((time.monotonic() - started) * 1000),
    )
    return results


def declare_title(alert: Alert, service: str | None) -> str:
    title = " ".join(alert.title.split())
    if service and service.lower() not in title.lower():
        title = f"{service}: {title}"
    return clip_plain(title, TITLE_MAX)


async def _decide(
    services: Services,
    catalog: Catalog | None,
    service: str | None,
    alerts: list[Alert],
    after: _After,
) -> list[Result]:
    """One service's alerts of a notification: one transaction, one lock. `after` learns
    what to do once it is committed."""
    now = services.clock.now()
    results: list[Result] = []
    mine = _After()
    begun = time.monotonic()
    async with store.locked_transaction(services, service) as session:
        locked = time.monotonic()
        open_inc = await store.open_incident(session, service)
        targets = await store.sentry_occurrences(session, alerts)
        stored = await store.known(session, [a for a in targets if a is not None])
        resolved_in: dict[int, None] = {}
        new: list[int] = []
        for alert in targets:
            if alert is None:  # a Sentry issue resolved that never fired here
                results.append(Result("ignored"))
                continue
            row, changed = await store.record(
                session, alert, service, now, stored.get(alert.occurrence_key)
            )
            stored[row.alert_key] = row  # the same occurrence twice in one notification
            if not changed:
                results.append(Result("duplicate", row.incident_number))
                continue
            inc = open_inc
            if inc is None and row.incident_number is not None:
                inc = await session.get(Incident, row.incident_number)  # its incident, resolved
            if inc is not None:
                await store.attach(session, row, inc.number, actor=alert.reporter, now=now)
                if inc.is_open:
                    mine.refresh[inc.number] = None
                    if not alert.firing:
                        resolved_in[inc.number] = None
                results.append(Result("attached" if alert.firing else "resolved", inc.number))
                continue
            if not alert.firing:
                results.append(Result("resolved"))
                continue
            rule = catalog.rule_for(alert.labels) if catalog is not None else None
            if rule is not None and rule.declare:
                inc, created = await declared.store_incident(
                    session,
                    title=declare_title(alert, service),
                    severity=rule.declare,
                    reporter=alert.reporter,
                    commander=UNASSIGNED,
                    key=bounded(f"alert:{alert.occurrence_key}"),
                    now=now,
                    service=service,
                    detected_at=alert.starts_at,
                )
                if inc is not None:
                    await store.attach(session, row, inc.number, actor=alert.reporter, now=now)
                    if created:
                        new.append(inc.number)
                    elif inc.is_open:
                        mine.refresh[inc.number] = None
                    if inc.is_open and service:
                        open_inc = inc  # the rest of the notification attaches to it
                results.append(Result("declared", inc.number if inc else None))
            elif rule is not None and rule.post:
                channel = (catalog.alerts.channel if catalog else None) or (
                    services.settings.incidents_channel
                )
                blocks, text = ui.offer_blocks(row.id, alert, service)
                posted = await _post(services, channel.lstrip("#"), blocks, text)
                if posted:
                    row.post_channel, row.post_ts = posted
                results.append(Result("posted"))
            else:
                results.append(Result("unrouted"))
        for number in resolved_in:
            count = await store.claim_all_resolved(session, number, now=now)
            if count:
                mine.ask[number] = count
        for number in new:  # its card is posted by the set-up, with these alerts on it
            mine.refresh.pop(number, None)
            mine.declared[number] = await _alert_states(session, number)
    log.debug(
        "alerts decided",
        service=service,
        alerts=len(alerts),
        lock_wait_ms=round((locked - begun) * 1000),
        locked_ms=round((time.monotonic() - locked) * 1000),
    )
    after.merge(mine)
    return results


async def _alert_states(session: AsyncSession, number: int) -> list[tuple[int, str]]:
    return [(r.id, r.status) for r in await store.incident_alerts(session, number)]


async def _post(
    services: Services, channel: str, blocks: list[dict], text: str
) -> tuple[str, str] | None:
    try:
        resp = await services.channels.post(channel, blocks=blocks, text=text)
    except ChannelMissing:
        log.warning("alerts channel not found", channel=channel)
        return None
    return str(resp.get("channel") or ""), str(resp.get("ts") or "")


def _keep(task: asyncio.Task[Any]) -> None:
    _LATER.add(task)
    task.add_done_callback(_LATER.discard)


async def _follow_up_in_time(services: Services, after: _After, started: float) -> None:
    """Run the follow-up, answering by FOLLOW_UP_BUDGET_S; past it, it finishes on its own."""
    task = asyncio.create_task(_follow_up(services, after))
    _keep(task)  # kept even if the request is cancelled (Alertmanager hung up)
    left = FOLLOW_UP_BUDGET_S - (time.monotonic() - started)
    budget = max(0.0, min(FOLLOW_UP_WAIT_S, left))
    done, _ = await asyncio.wait({task}, timeout=budget)
    if not done:
        log.info(
            "alert follow-up continues after the answer",
            declared=sorted(after.declared),
            refresh=sorted(after.refresh),
        )


async def _follow_up(services: Services, after: _After) -> None:
    """Slack work after the commit: a failure here loses no alert (it is stored)."""
    await asyncio.gather(
        *(_set_up(services, n, states) for n, states in after.declared.items()),
        *(_refresh(services, n) for n in after.refresh),
    )
    for number, count in after.ask.items():
        await _ask(services, number, count)


async def _set_up(services: Services, number: int, states: list[tuple[int, str]]) -> None:
    async def notify(text: str) -> None:
        log.info("alert declaration", incident=number, outcome=text[:200])

    try:
        inc = await declared.set_up(services, number, notify)
        if inc is None or not inc.card_ts:
            return
        # Another replica may have attached alerts while the card was being posted, and found
        # no card to refresh then: the card must show them.
        if await _states(services, number) != states:
            await _refresh(services, number)
    except Exception as exc:
        log.warning("alert declaration set-up failed", incident=number, exc_info=exc)


async def _states(services: Services, number: int) -> list[tuple[int, str]]:
    async with services.sessions() as session:
        return await _alert_states(session, number)


async def _refresh(services: Services, number: int) -> None:
    """One card refresh at a time per incident in this process; asked again meanwhile, it
    runs once more after. And when the alerts changed while it rendered (another replica
    committed), once more: its own refresh may have reached Slack before this one."""
    if number in _REFRESHING:
        _AGAIN.add(number)
        return
    _REFRESHING.add(number)
    try:
        for _ in range(REFRESH_ROUNDS):
            _AGAIN.discard(number)
            before = await _states(services, number)
            if not await _refresh_once(services, number):
                return
            if number not in _AGAIN and await _states(services, number) == before:
                return
    except Exception as exc:
        log.warning("card refresh after alert failed", incident=number, exc_info=exc)
    finally:
        _REFRESHING.discard(number)
        _AGAIN.discard(number)


async def _refresh_once(services: Services, number: int) -> bool:
    """False when there is no card to refresh (yet, or any more)."""
    async with services.sessions() as session:
        inc = await session.get(Incident, number)
    if inc is None or not inc.is_open:
        return False
    if not inc.card_ts:  # still being set up (here or by another replica): it posts it
        return False
    error = await incident_card.refresh(services, inc)
    if error:
        log.warning("card refresh after alert failed", incident=number, error=error)
        return False
    return True


async def _ask(services: Services, number: int, count: int) -> None:
    try:
        async with services.sessions() as session:
            fresh = await session.get(Incident, number)
        if fresh is None or not fresh.is_open or not fresh.channel_id:
            return
        blocks, text = ui.all_resolved(fresh.number, fresh.commander_id, count)
        await services.slack.chat_postMessage(channel=fresh.channel_id, blocks=blocks, text=text)
    except Exception as exc:
        log.warning("could not ask to resolve", incident=number, error_type=type(exc).__name__)
