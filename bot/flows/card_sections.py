"""The parts of the pinned card that other capabilities add below the template's fields
(alerts firing, recent changes, ...), listed once so a reader finds them all. A provider is
`async (services, incident) -> list[CardSection]`, and an empty list shows nothing. Provider
modules must not import `bot.flows.card` (it imports this list)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.flows import changes
from bot.flows.alerts.section import alerts_section
from bot.services import Services
from incident.models import Incident


@dataclass(frozen=True)
class CardSection:
    """`blocks` go on the card above its buttons; `text` (mrkdwn, one or a few lines) goes
    into the notification fallback. Both must already fit Slack's limits."""

    blocks: list[dict[str, Any]]
    text: str


Provider = Callable[[Services, Incident], Awaitable[list[CardSection]]]

PROVIDERS: tuple[Provider, ...] = (changes.card_section, alerts_section)


async def sections(services: Services, incident: Incident) -> list[CardSection]:
    out: list[CardSection] = []
    for provider in PROVIDERS:
        out.extend(await provider(services, incident))
    return out
