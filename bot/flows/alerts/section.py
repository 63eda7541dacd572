"""The card's alert line: how many of the incident's alerts are firing, and which
(bot.flows.card_sections). Must not import bot.flows.card."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.flows.alerts import store
from bot.services import Services
from bot.slack.ui import alerts as ui
from incident.alerts import FIRING
from incident.models import Incident

if TYPE_CHECKING:
    from bot.flows.card_sections import CardSection


async def alerts_section(services: Services, incident: Incident) -> list[CardSection]:
    async with services.sessions() as session:
        rows = await store.incident_alerts(session, incident.number)
    if not rows:
        return []
    firing = [r.name for r in rows if r.status == FIRING]
    # card_sections lists this provider, so it is imported here, not at module level
    from bot.flows.card_sections import CardSection

    text = ui.firing_text(firing, len(firing), len(rows))
    return [CardSection(ui.card_section_blocks(text), text)]
