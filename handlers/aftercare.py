"""The *Reopen* button of a check that failed after resolution (bot.flows.aftercare).

Slack asks "Reopen this incident?" before the press arrives (the button's confirm dialog);
a retry of the same press is dropped by its once-marker, and a second press finds the
incident open again and changes nothing."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.flows.aftercare import reopen as reopen_flow
from bot.flows.errors import user_message
from bot.flows.lifecycle.service import problems_text
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui.aftercare import REOPEN
from handlers.card_actions import NO_INCIDENT_BUTTON, ephemeral, first_press, press_of
from incident.lifecycle import LifecycleError

log = get_logger(__name__)


async def on_reopen(ack: Any, body: dict, respond: Any, context: dict) -> None:
    await ack()
    services: Services = context["services"]
    press = press_of(body)
    if press.number is None:
        await ephemeral(respond, NO_INCIDENT_BUTTON)
        return
    try:
        if not await first_press(services, press):
            return  # Slack's retry of a press already handled
        applied = await reopen_flow.reopen(services, press.number, actor=press.user, key=press.key)
    except LifecycleError as exc:
        await ephemeral(respond, f"⚠️ {exc}")
        return
    except Exception as exc:
        log.error("reopen failed", error_type=type(exc).__name__)
        await ephemeral(respond, user_message(exc))
        return
    if applied.outcome.duplicate:
        await ephemeral(respond, f"Already done: incident #{press.number} was reopened.")
        return
    await reopen_flow.follow_up(services, applied, press.user)
    if applied.problems:
        await ephemeral(respond, problems_text(applied))


def register(app: AsyncApp, services: Services) -> None:
    app.action(REOPEN)(on_reopen)
