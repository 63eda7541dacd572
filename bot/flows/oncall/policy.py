"""Which escalation policy, if any, pages an incident: its catalog service's ``escalation``.
An incident without a service, a catalog without that service, or a service without a policy
keeps the default behaviour (the reminders' on-call group mention)."""

from __future__ import annotations

from bot.adapters.catalog.model import Catalog
from bot.services import Services
from incident.models import Incident
from incident.oncall import EscalationPolicy, Schedule


def policy_for(catalog: Catalog | None, inc: Incident) -> EscalationPolicy | None:
    if catalog is None or not inc.service:
        return None
    try:
        service = catalog.get(inc.service)
        return catalog.escalation_policy(service.escalation) if service.escalation else None
    except KeyError:  # the service or its policy left the catalog since
        return None


def pages_incident(services: Services, inc: Incident) -> bool:
    """True when a policy pages this incident (the reminders then leave the ack escalation
    to it)."""
    return policy_for(services.catalog.current, inc) is not None


def schedules(services: Services) -> dict[str, Schedule]:
    catalog = services.catalog.current
    return catalog.schedules() if catalog is not None else {}
