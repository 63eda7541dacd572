"""The listeners for what the channel itself adds to the timeline: 📌 on a message (and its
removal), and people joining.

Slack redelivers an event it did not get a 2xx for, so these events are stored *before* Bolt
acknowledges them: the work (bot.flows.capture) runs as listener middleware, which Bolt awaits
before its automatic ack, and an exception there makes Bolt answer 500. A Postgres outage
therefore costs a redelivery, not a lost 📌.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.flows import capture
from bot.services import Services

Store = Callable[[Services, dict[str, Any], str], Awaitable[None]]


def before_ack(store: Store) -> Callable[..., Awaitable[None]]:
    """Listener middleware: Bolt runs it before acknowledging, and answers 500 if it raises."""

    async def middleware(body: dict, context: dict, next: Callable[[], Awaitable[None]]) -> None:
        await store(context["services"], body.get("event") or {}, context.get("bot_user_id") or "")
        await next()

    return middleware


async def stored(ack: Any) -> None:
    """Everything happened before the ack; Bolt acknowledges for us."""


def register(app: AsyncApp, services: Services) -> None:
    app.event("reaction_added", middleware=[before_ack(capture.store_pin)])(stored)
    app.event("reaction_removed", middleware=[before_ack(capture.withdraw_pin)])(stored)
    app.event("member_joined_channel", middleware=[before_ack(capture.store_participant)])(stored)
