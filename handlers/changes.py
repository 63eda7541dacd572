"""`/incident changes [service]` and the card's **Roll back this** button under the suspect
change. The button only plans: it shows the very plan and Confirm/Cancel of
`/incident rollback <deployment> --to-revision <previous>` (`handlers.operations` answers the
Confirm), so nothing changes without Confirm."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.flows import changes as changes_flow
from bot.flows.operations.plan import Located
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui import changes as ui
from handlers.card_actions import ephemeral, first_press, press_of
from handlers.incident_context import incident_number
from handlers.operations_card import ask_to_confirm
from handlers.subcommands import CommandCall, subcommand
from incident import registry
from incident.escaping import escape_mrkdwn

log = get_logger(__name__)

USAGE = "/incident changes [service]"


@subcommand("changes", USAGE, "a service's recent Deployment rollouts and the suspect", order=65)
async def changes_command(call: CommandCall) -> None:
    words = call.args.split()
    if len(words) > 1:
        await call.ack(text=f"⚠️ Usage: `{USAGE}`")
        return
    async with call.services.sessions() as session:
        inc = await registry.by_channel(session, call.channel_id)
    await call.ack()  # the cluster is read after the ack
    try:
        found, why = await changes_flow.on_demand(call.services, inc, words[0] if words else None)
    except Exception as exc:
        log.error("changes command failed", error_type=type(exc).__name__)
        found, why = None, f"Could not read the changes: {type(exc).__name__}."
    text = ui.answer_text(found) if found is not None else f"⚠️ {why}"
    await call.respond(text=text, response_type="ephemeral", replace_original=False)


async def on_rollback_suspect(ack: Any, body: dict, respond: Any, context: dict) -> None:
    await ack()
    services: Services = context["services"]
    press = press_of(body)
    action = (body.get("actions") or [{}])[0]
    value = ui.read_rollback_value(str(action.get("value") or ""))
    number = incident_number(value.get("n")) if value else None
    if value is None or number is None:
        await ephemeral(respond, "⚠️ This button does not name a rollback; nothing was done.")
        return
    try:
        if not await first_press(services, press):
            return  # Slack's retry of a press already answered
        where = Located(value.get("c"), value["ns"], value["d"])
        await ask_to_confirm(
            services,
            "rollback",
            where,
            number,
            {"to_revision": value["to"]},
            user=press.user,
            channel=press.channel,
        )
    except Exception as exc:
        log.error("roll back this failed", error_type=type(exc).__name__)
        await ephemeral(respond, f"⚠️ Could not plan the rollback: {escape_mrkdwn(str(exc))}")


def register(app: AsyncApp, services: Services) -> None:
    app.action(ui.ROLLBACK_SUSPECT)(on_rollback_suspect)
