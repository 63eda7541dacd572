"""Posting and refreshing the pinned card and the channel topic, so the pin is always current;
and keeping texts too big for a Slack payload (a button value holds 2,000 characters) in
Redis, so that the payload carries only their id."""

from __future__ import annotations

import secrets

from slack_sdk.errors import SlackApiError

from bot.flows import card_sections
from bot.services import Services
from bot.slack.ui.blocks import card_blocks
from incident import card, timeline
from incident import event_kinds as K
from incident.models import Incident

# One read gives the card both its updates and who acknowledged (the row keeps only when).
CARD_KINDS = (K.UPDATE, K.ACKNOWLEDGED)
# A stashed text outlives the message that names it by far less than a day in practice.
STASH_TTL_S = 24 * 3600
_STASH_PREFIX = "warroom:stash:"


async def card_state(
    services: Services, incident: Incident
) -> tuple[list[card.CardUpdate], str | None]:
    """The updates the card lists and who acknowledged (the first acknowledgement's actor;
    None before it, or when the timeline does not name one)."""
    async with services.sessions() as session:
        events = await timeline.events(session, incident.number, kinds=CARD_KINDS)
    updates = [card.CardUpdate(e.occurred_at, e.text or "") for e in events if e.kind == K.UPDATE]
    acked_by = next((e.actor for e in events if e.kind == K.ACKNOWLEDGED), None)
    return updates, acked_by if incident.acknowledged_at is not None else None


async def render(services: Services, incident: Incident) -> tuple[list[dict], str]:
    updates, acked_by = await card_state(services, incident)
    extras = await card_sections.sections(services, incident)
    text = card.card_text(incident, updates, acked_by)
    if extras:
        text += "\n" + "\n".join(x.text for x in extras if x.text)
    return (
        card_blocks(incident, updates, acked_by, [b for x in extras for b in x.blocks]),
        text,
    )


async def refresh(services: Services, incident: Incident) -> str | None:
    """Edit the card in place and follow with the topic; returns an error text or None."""
    if not incident.channel_id or not incident.card_ts:
        return "the incident has no card yet"
    blocks, text = await render(services, incident)
    try:
        await services.slack.chat_update(
            channel=incident.channel_id, ts=incident.card_ts, blocks=blocks, text=text
        )
        await services.slack.conversations_setTopic(
            channel=incident.channel_id, topic=card.topic(incident)
        )
    except SlackApiError as exc:
        return str(exc.response.get("error", "slack error"))
    return None


async def stash_text(services: Services, text: str) -> str:
    """Keep `text` for a day and return the short id a button value can carry instead."""
    stash_id = secrets.token_urlsafe(12)
    await services.redis.set(_STASH_PREFIX + stash_id, text.encode(), ex=STASH_TTL_S)
    return stash_id


async def unstash_text(services: Services, stash_id: str) -> str | None:
    """The text `stash_text` kept, or None once it expired. Not deleted on read: Slack may
    deliver the same button press twice."""
    raw = await services.redis.get(_STASH_PREFIX + stash_id)
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)
