"""What an alert does, decided once per occurrence and state:

- a firing alert for a service with an open incident attaches to it (timeline, card count);
- otherwise the first matching `alerts.rules` rule of the catalog declares an incident (through
  `declare_incident`, reporter the source, commander unassigned until someone acknowledges:
  incident.roles) or posts an offer with a "Declare incident" button in `alerts.channel`;
- a resolved alert goes on its incident's timeline and off the card's count; when none of the
  incident's alerts is firing any more the commander is asked, once, whether to resolve.
  warroom never resolves by itself.

Redeliveries (Alertmanager's repeat_interval, retries, replicas on both sides) change nothing:
the alert's row is keyed by its occurrence, the timeline entry by occurrence and state, and
the decision for a service is taken under a Postgres advisory lock. Storage errors propagate:
the route answers 503 and Alertmanager sends the notification again.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.adapters.catalog.model import Catalog
from bot.flows import card as incident_card
from bot.flows.alerts import store
from bot.flows.declare.setup import declare_incident
from bot.logging_setup import get_logger
from bot.metrics import ALERTS_RECEIVED
from bot.services import Services
from bot.slack.channels import ChannelMissing
from bot.slack.ui import alerts as ui
from incident import registry
from incident.alerts import SENTRY, Alert, Notification, bounded, with_service
from incident.models import Incident
from incident.roles import UNASSIGNED
from incident.text_limits import clip_plain

log = get_logger(__name__)
TITLE_MAX = 150


@dataclass(frozen=True)
class Result:
    outcome: str  # declared | attached | resolved | posted | duplicate | unrouted
    incident: int | None = None

    def as_dict(self) -> dict:
        return {"outcome": self.outcome, "incident": self.incident}


@dataclass
class _After:
    """What is done once the decision is committed."""

    refresh: Incident | None = None
    ask: tuple[Incident, int] | None = None


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
    catalog = services.catalog.current
    results = []
    for raw in notification.alerts:
        service = service_of(catalog, raw)
        alert = with_service(raw, service)
        result = await _one(services, catalog, alert, service)
        ALERTS_RECEIVED.labels(alert.source, result.outcome).inc()
        results.append(result)
    log.info(
        "alerts received",
        source=notification.source,
        alerts=len(results),
        outcomes=sorted({r.outcome for r in results}),
    )
    return results


def declare_title(alert: Alert, service: str | None) -> str:
    title = " ".join(alert.title.split())
    if service and service.lower() not in title.lower():
        title = f"{service}: {title}"
    return clip_plain(title, TITLE_MAX)


async def _one(
    services: Services, catalog: Catalog | None, alert: Alert, service: str | None
) -> Result:
    now = services.clock.now()
    after = _After()
    async with services.transaction() as session:
        await store.lock_service(session, service)
        row, changed = await store.record(session, alert, service, now)
        if not changed:
            return Result("duplicate", row.incident_number)
        inc = await store.open_incident(session, service)
        if inc is None and row.incident_number is not None:
            inc = await session.get(Incident, row.incident_number)  # its incident, resolved
        if inc is not None:
            await store.attach(session, row, inc.number, actor=alert.reporter, now=now)
            if inc.is_open:
                after.refresh = inc
                if not alert.firing:
                    count = await store.claim_all_resolved(session, inc.number, now=now)
                    if count:
                        after.ask = (inc, count)
            result = Result("attached" if alert.firing else "resolved", inc.number)
        elif not alert.firing:
            result = Result("resolved")
        else:
            rule = catalog.rule_for(alert.labels) if catalog is not None else None
            if rule is not None and rule.declare:
                declared = await _declare(services, alert, service, rule.declare)
                if declared is not None:
                    await store.attach(session, row, declared.number, actor=alert.reporter, now=now)
                    after.refresh = declared
                result = Result("declared", declared.number if declared else None)
            elif rule is not None and rule.post:
                channel = (catalog.alerts.channel if catalog else None) or (
                    services.settings.incidents_channel
                )
                blocks, text = ui.offer_blocks(row.id, alert, service)
                posted = await _post(services, channel.lstrip("#"), blocks, text)
                if posted:
                    row.post_channel, row.post_ts = posted
                result = Result("posted")
            else:
                result = Result("unrouted")
    await _follow_up(services, after)
    return result


async def _declare(
    services: Services, alert: Alert, service: str | None, severity: str
) -> Incident | None:
    async def notify(text: str) -> None:
        log.info("alert declaration", source=alert.source, outcome=text[:200])

    key = bounded(f"alert:{alert.occurrence_key}")
    inc = await declare_incident(
        services,
        title=declare_title(alert, service),
        severity=severity,
        reporter=alert.reporter,
        commander=UNASSIGNED,
        impact=None,
        key=key,
        notify=notify,
        service=service,
        detected_at=alert.starts_at,
    )
    if inc is None:  # declared before (this very key): find it
        async with services.sessions() as session:
            inc = await registry.by_declare_key(session, key)
    return inc


async def _post(
    services: Services, channel: str, blocks: list[dict], text: str
) -> tuple[str, str] | None:
    try:
        resp = await services.channels.post(channel, blocks=blocks, text=text)
    except ChannelMissing:
        log.warning("alerts channel not found", channel=channel)
        return None
    return str(resp.get("channel") or ""), str(resp.get("ts") or "")


async def _follow_up(services: Services, after: _After) -> None:
    """Slack work after the commit: a failure here loses no alert (it is stored)."""
    if after.refresh is not None:
        async with services.sessions() as session:
            inc = await session.get(Incident, after.refresh.number)
        if inc is not None and inc.is_open:
            error = await incident_card.refresh(services, inc)
            if error:
                log.warning("card refresh after alert failed", incident=inc.number, error=error)
    if after.ask is not None:
        inc, count = after.ask
        async with services.sessions() as session:
            fresh = await session.get(Incident, inc.number)
        if fresh is None or not fresh.is_open or not fresh.channel_id:
            return
        blocks, text = ui.all_resolved(fresh.number, fresh.commander_id, count)
        try:
            await services.slack.chat_postMessage(
                channel=fresh.channel_id, blocks=blocks, text=text
            )
        except Exception as exc:
            log.warning(
                "could not ask to resolve", incident=fresh.number, error_type=type(exc).__name__
            )
