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
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.flows import capture
from bot.services import Services

Store = Callable[[Services, dict[str, Any], str], Awaitable[None]]


class BeforeAck(AsyncMiddleware):
    """Listener middleware: Bolt runs it before acknowledging, and answers 500 if it raises.
    A middleware object rather than a function, so Bolt calls it directly instead of
    inspecting its signature on every 📌 (the hottest path there is)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        context = req.context
        event = req.body.get("event") or {}
        await self.store(context["services"], event, context.get("bot_user_id") or "")
        await next()
        return resp


async def stored(ack: Any) -> None:
    """Everything happened before the ack; Bolt acknowledges for us."""


def register(app: AsyncApp, services: Services) -> None:
    app.event("reaction_added", middleware=[BeforeAck(capture.store_pin)])(stored)
    app.event("reaction_removed", middleware=[BeforeAck(capture.withdraw_pin)])(stored)
    app.event("member_joined_channel", middleware=[BeforeAck(capture.store_participant)])(stored)
