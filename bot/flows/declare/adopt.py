"""What Slack already shows of a declare that was cut short (a timeout, a crash, Postgres gone
mid-post) before it recorded a step: the channel it created, the card it posted, the
announcement. A repair adopts these instead of doing the step a second time."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.services import Services
from bot.slack.channels import ChannelMissing, find_channel
from incident.models import Incident


async def bot_user_id(services: Services) -> str:
    """Asked once per process: it only tells our own messages and channels from others'."""
    if services.caches.bot_user_id is None:
        auth = await services.slack.auth_test()
        services.caches.bot_user_id = auth["user_id"]
    return services.caches.bot_user_id


async def adoptable_channel(services: Services, name: str) -> dict[str, Any] | None:
    """After `name_taken`: the channel may be ours from an attempt that crashed before we
    stored its id. Adopt it only if the bot created it and no incident claims it."""
    ch = await find_channel(services.slack, name)
    if ch is None or not ch.get("is_member") or ch.get("creator") != await bot_user_id(services):
        return None
    async with services.sessions() as session:
        taken = await session.scalar(select(Incident.number).where(Incident.channel_id == ch["id"]))
    return None if taken else ch


async def posted_card(services: Services, inc: Incident) -> str | None:
    """After a failed attempt (a timeout: Slack may have posted it after all), the ts of a
    card of ours already in the channel, so a repair does not post a second one."""
    try:
        resp = await services.slack.conversations_history(channel=inc.channel_id, limit=100)
    except SlackApiError:
        return None
    bot = await bot_user_id(services)
    for msg in resp.get("messages") or []:
        if msg.get("user") != bot and msg.get("bot_id") is None:
            continue
        if any(b.get("block_id") == f"card:{inc.number}" for b in msg.get("blocks") or []):
            return msg.get("ts")
    return None


async def posted_announcement(services: Services, inc: Incident) -> str | None:
    """After a cut-short declare: the ts of our announcement of this incident if Slack
    already has it in #incidents, so a repair does not announce twice."""
    try:
        channel = await services.channels.channel_id(services.settings.incidents_channel)
        resp = await services.slack.conversations_history(channel=channel, limit=200)
    except (SlackApiError, ChannelMissing):
        return None
    bot = await bot_user_id(services)
    needle = f"incident #{inc.number} declared"
    for msg in resp.get("messages") or []:
        mine = msg.get("user") == bot or msg.get("bot_id") is not None
        if mine and needle in (msg.get("text") or "") and f"<#{inc.channel_id}>" in msg["text"]:
            return msg.get("ts")
    return None


async def adopt(services: Services, inc: Incident, step: str) -> dict[str, Any] | None:
    """The result of `step` as Slack already shows it; None: the step must be done."""
    if step == "card" and (ts := await posted_card(services, inc)):
        return {"card_ts": ts, "adopted": True}
    if step == "announce" and (ts := await posted_announcement(services, inc)):
        return {"announce_ts": ts, "adopted": True}
    return None
