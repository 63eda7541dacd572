"""The link signer of this process: one per Services, made on first use, because its secret
may be a random one (no WARROOM_WEB_SECRET nor Slack secret) that must stay the same for the
life of the process."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.adapters.links import LinkSigner, signer_for
from bot.services import Services


def link_signer(services: Services) -> LinkSigner:
    if services.link_signer is None:
        services.link_signer = signer_for(services.settings)
    return services.link_signer


def link_expiry(services: Services) -> datetime:
    """When a link made now stops opening its page."""
    hours = services.settings.postmortem.link_ttl_hours
    return services.clock.now() + timedelta(hours=hours)
