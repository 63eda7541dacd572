"""The "Declare incident" button of an alert offer (bot.slack.ui.alerts): whoever presses it
declares the alert's incident and commands it (bot.flows.alerts.offer). Slack's retry of a
press is dropped by a Redis once-marker; a second press finds the alert already declared."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.adapters.locks import LockUnavailable
from bot.flows.alerts import offer
from bot.flows.errors import user_message
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui.alerts import DECLARE
from handlers.card_actions import ephemeral
from incident.numbers import parse_count

log = get_logger(__name__)
PRESS_MEMORY_S = 600


def register(app: AsyncApp, services: Services) -> None:
    app.action(DECLARE)(declare_pressed)


async def declare_pressed(ack: Any, body: dict, respond: Any, context: dict) -> None:
    await ack()
    services: Services = context["services"]
    action = (body.get("actions") or [{}])[0]
    user = str((body.get("user") or {}).get("id") or "")
    try:
        alert_id = parse_count(action.get("value"), minimum=1, what="alert")
    except ValueError:
        await ephemeral(respond, "⚠️ This button does not name an alert; nothing was done.")
        return
    try:
        key = f"press:{DECLARE}:{action.get('action_ts')}:{user}"
        if not await services.locks.once(key, PRESS_MEMORY_S):
            return
    except LockUnavailable:
        pass  # the declare key still guards against a second incident

    async def notify(text: str) -> None:
        await ephemeral(respond, text)

    blocks = list((body.get("message") or {}).get("blocks") or [])
    try:
        answer = await offer.declare_offered(services, alert_id, user, notify, blocks)
    except Exception as exc:
        log.error("alert declare failed", error_type=type(exc).__name__)
        answer = user_message(exc)
    if answer:
        await ephemeral(respond, answer)
