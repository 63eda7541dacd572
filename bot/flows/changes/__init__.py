"""What changed: the recent Deployment rollouts of an incident's catalog service, on the
card (**Recent changes**) and on demand (`/incident changes`), with the suspect recorded once
on the timeline.

Kubernetes is read only from here, never on a Slack ack path (the card is rendered after the
ack; the command acks first), in worker threads, under a short deadline, and the result is
kept ~60 s per incident and service (Redis, or this process when Redis is down), so card
refreshes do not hammer the API. A cluster that cannot be read becomes one "changes
unavailable: <reason>" line, never a broken card.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.adapters import kube as kube_ops
from bot.adapters.catalog.model import Service
from bot.adapters.kube.rollouts import rollouts
from bot.flows.operations.plan import api_for
from bot.flows.operations.request import target_name
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui.changes import changes_blocks, fallback_text
from incident import changes as domain
from incident import event_kinds, timeline
from incident.changes import Changes, Rollout, Unavailable
from incident.escaping import escape_mrkdwn
from incident.models import Incident

if TYPE_CHECKING:
    from bot.flows.card_sections import CardSection

log = get_logger(__name__)

CACHE_TTL_S = 60
READ_TIMEOUT_S = 4.0  # each Kubernetes request
DEADLINE_S = 6.0  # the whole read of one service
_PREFIX = "warroom:changes:"
_local: dict[str, tuple[float, str]] = {}  # when Redis is down: key -> (expiry, json)


@dataclass(frozen=True)
class Place:
    cluster: str | None
    namespace: str
    deployment: str

    @property
    def target(self) -> str:
        return target_name(self.cluster, self.namespace, self.deployment)


def places(service: Service) -> list[Place]:
    """Where the service's Deployment runs (one catalog target today)."""
    k = service.kubernetes
    return [Place(k.context, k.namespace, k.deployment)] if k is not None else []


async def _read_place(services: Services, place: Place) -> list[Rollout] | Unavailable:
    try:
        api = api_for(services, place.cluster)
        async with asyncio.timeout(DEADLINE_S):
            return await kube_ops.in_thread(
                rollouts,
                api,
                place.cluster,
                place.namespace,
                place.deployment,
                timeout_s=READ_TIMEOUT_S,
            )
    except TimeoutError:
        return Unavailable(place.target, f"timed out after {DEADLINE_S:g} s")
    except kube_ops.KubeError as exc:
        return Unavailable(place.target, str(exc))
    except Exception as exc:  # a bad kubeconfig, an unknown cluster: still one line
        log.warning("changes read failed", target=place.target, error_type=type(exc).__name__)
        return Unavailable(place.target, str(exc) or type(exc).__name__)


async def read_changes(services: Services, service: Service, incident: Incident | None) -> Changes:
    """Read every place of `service` at once and pick; no cache."""
    found = await asyncio.gather(*(_read_place(services, p) for p in places(service)))
    all_rollouts: list[Rollout] = []
    unavailable: list[Unavailable] = []
    for item in found:
        if isinstance(item, Unavailable):
            unavailable.append(item)
        else:
            all_rollouts.extend(item)
    now = services.clock.now()
    started = (
        domain.incident_start(incident.declared_at, incident.detected_at)
        if incident is not None
        else now
    )
    found_changes = domain.gather(
        service.name,
        all_rollouts,
        unavailable,
        now=now,
        started=started,
        window=timedelta(minutes=services.settings.warroom_suspect_window_min),
    )
    # without an incident there is nothing to suspect a change of
    return found_changes if incident is not None else replace(found_changes, suspect=None)


def _key(incident: Incident | None, service: str) -> str:
    return f"{_PREFIX}{incident.number if incident else 0}:{service}"


async def _cached(services: Services, key: str) -> Changes | None:
    raw: Any = None
    try:
        raw = await services.redis.get(key)
    except Exception:
        hit = _local.get(key)
        raw = hit[1] if hit and hit[0] > time.monotonic() else None
    if raw is None:
        return None
    try:
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return Changes.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError):
        return None


async def _keep(services: Services, key: str, changes: Changes) -> None:
    text = json.dumps(changes.to_dict())
    try:
        await services.redis.set(key, text.encode(), ex=CACHE_TTL_S)
    except Exception:
        for stale in [k for k, (exp, _) in _local.items() if exp <= time.monotonic()]:
            _local.pop(stale, None)
        _local[key] = (time.monotonic() + CACHE_TTL_S, text)


async def changes_for(
    services: Services, service: Service, incident: Incident | None, *, fresh: bool = False
) -> Changes:
    """The service's recent changes, from the cache when read in the last minute. A read
    with a suspect records it on the incident's timeline (once)."""
    key = _key(incident, service.name)
    if not fresh:
        hit = await _cached(services, key)
        if hit is not None:
            return hit
    changes = await read_changes(services, service, incident)
    # failures are not kept: the next refresh tries the cluster again
    if not changes.unavailable:
        await _keep(services, key, changes)
    if incident is not None and changes.suspect is not None:
        await record_suspect(services, incident, changes.suspect)
    return changes


async def record_suspect(services: Services, incident: Incident, suspect: Rollout) -> None:
    """One `suspect_change` event per incident and revision, dated when it rolled out, so
    the post-mortem's timeline shows it before the declaration."""
    where = f"{suspect.cluster or 'default'}/{suspect.namespace}/{suspect.deployment}"
    try:
        async with asyncio.timeout(5), services.transaction() as session:
            await timeline.record(
                session,
                incident.number,
                event_kinds.SUSPECT_CHANGE,
                at=suspect.at,
                actor="warroom",
                text=domain.suspect_text(suspect),
                data={"rollout": suspect.to_dict()},
                key=f"suspect:{incident.number}:{where}:{suspect.revision}",
            )
    except Exception as exc:  # the card still shows it; the next read records it
        log.warning("suspect not recorded", incident=incident.number, error=str(exc))


def _service_of(services: Services, incident: Incident) -> Service | None:
    catalog = services.catalog.current
    if catalog is None or not incident.service:
        return None
    try:
        return catalog.get(incident.service)
    except KeyError:
        return None


async def card_section(services: Services, incident: Incident) -> list[CardSection]:
    """The card's **Recent changes**, for an incident naming a catalog service that runs on
    Kubernetes; nothing otherwise. Never raises: the card must render."""
    service = _service_of(services, incident)
    if service is None or not places(service):
        return []
    try:
        changes = await changes_for(services, service, incident)
    except Exception as exc:
        log.warning("recent changes failed", incident=incident.number, error=str(exc))
        changes = Changes(service.name, unavailable=[Unavailable("", type(exc).__name__)])
    blocks = changes_blocks(changes, incident.number, button_shown=incident.is_open)
    # card_sections lists this provider, so it is imported here, not at module level
    from bot.flows.card_sections import CardSection

    return [CardSection(blocks=blocks, text=fallback_text(changes))]


def known_services_text(services: Services) -> str:
    catalog = services.catalog.current
    names = [s.name for s in catalog.services if s.kubernetes] if catalog else []
    return ", ".join(f"`{escape_mrkdwn(n)}`" for n in names) or "none"


async def on_demand(
    services: Services, incident: Incident | None, name: str | None
) -> tuple[Changes | None, str | None]:
    """`/incident changes [service]`: (changes, None) or (None, why not)."""
    catalog = services.catalog.current
    if catalog is None:
        return None, "No service catalog is configured (set CATALOG_FILE)."
    wanted = name or (incident.service if incident is not None else None)
    if not wanted:
        return None, (
            "Which service? This incident names none: `/incident changes <service>` "
            f"(known: {known_services_text(services)})."
        )
    try:
        service = catalog.get(wanted)
    except KeyError:
        return None, (
            f"Unknown service `{escape_mrkdwn(wanted)}`. Known: {known_services_text(services)}."
        )
    if not places(service):
        return None, (
            f"`{escape_mrkdwn(service.name)}` has no Kubernetes Deployment in the catalog "
            f"(services with one: {known_services_text(services)})."
        )
    return await changes_for(services, service, incident), None
