"""A private (security) incident's post-mortem opens only with a link made for that
incident and for one of its participants: not with a link to every post-mortem, not with
the API token, not with a link someone outside it asked for."""

from __future__ import annotations

from bot.adapters.links import ALL, LinkError
from bot.services import Services
from bot.web.auth import Access
from incident import registry
from incident.private import participants


async def require_participant(services: Services, access: Access, number: int) -> None:
    """Raises LinkError (403) for a private incident opened without a participant's link."""
    async with services.sessions() as session:
        inc = await registry.get(session, number)
        if inc is None or not inc.private:
            return
        people = await participants(session, inc)
    grant = access.grant
    if grant is not None and grant.scope == str(number) and grant.scope != ALL:
        if grant.user and grant.user in people:
            return
    raise LinkError(
        403,
        "private_incident",
        f"Incident #{number} is private: its post-mortem opens only with a link made for one "
        f"of its participants (`/incident postmortem {number}` in Slack).",
    )
