"""The *Reopen* button of a check that failed after resolution (bot.flows.aftercare).

Slack asks "Reopen this incident?" before the press arrives (the button's confirm dialog);
a retry of the same press is dropped by its once-marker, and a second press finds the
incident open again and changes nothing."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.flows.aftercare import reopen as reopen_flow
from bot.flows.lifecycle.service import problems_text
from bot.services import Services
from bot.slack.ui.aftercare import REOPEN
from handlers.card_actions import AfterPress, Press, Respond, ephemeral, press_listener


async def _reopen(services: Services, press: Press, respond: Respond) -> AfterPress | None:
    assert press.number is not None
    applied = await reopen_flow.reopen(services, press.number, actor=press.user, key=press.key)
    if applied.outcome.duplicate:
        await ephemeral(respond, f"Already done: incident #{press.number} was reopened.")
        return None

    async def follow_up() -> None:  # Slack's side, outside the press's failure handling
        await reopen_flow.follow_up(services, applied, press.user)
        if applied.problems:
            await ephemeral(respond, problems_text(applied))

    return follow_up


on_reopen = press_listener(_reopen, failure="reopen failed")


def register(app: AsyncApp, services: Services) -> None:
    app.action(REOPEN)(on_reopen)
