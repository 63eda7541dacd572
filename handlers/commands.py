"""The single `/incident` listener: split the text, find the subcommand, hand over."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.flows.errors import user_message
from bot.logging_setup import get_logger
from bot.metrics import REQUESTS
from bot.services import Services
from handlers.subcommands import CommandCall, lookup, nearest, subcommand, usage_text
from incident.escaping import escape_mrkdwn

log = get_logger(__name__)
MAX_COMMAND_TEXT = 4000
# Slack never sends these in a command; Postgres refuses NUL in text. Tabs and newlines stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def split(text: str) -> tuple[str, str]:
    parts = (text or "").strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0].lower(), parts[1] if len(parts) > 1 else ""


@subcommand("help", "/incident help", "this list", order=99)
async def help_command(call: CommandCall) -> None:
    await call.ack(
        text=usage_text("*warroom* runs incidents from Slack."), response_type="ephemeral"
    )


async def handle_incident_command(ack: Any, respond: Any, body: dict, context: dict) -> None:
    services = context["services"]
    text = _CONTROL.sub("", body.get("text") or "")
    body = {**body, "text": text}
    if len(text) > MAX_COMMAND_TEXT:
        REQUESTS.labels("command", "too_long").inc()
        await ack(
            text=f"That command is {len(text)} characters long; keep it under {MAX_COMMAND_TEXT}."
        )
        return
    name, args = split(text)
    sub = lookup(name or "help")
    if sub is None:
        REQUESTS.labels("command", "unknown").inc()
        shown = escape_mrkdwn(name[:30].replace("`", "'"))
        intro = f"Unknown subcommand `{shown}`."
        if guess := nearest(name):
            intro += f" Did you mean `{guess}`?"
        await ack(text=usage_text(intro), response_type="ephemeral")
        return
    call = CommandCall(sub.name, args, body, ack, respond, services)
    acked = False

    async def ack_once(*a: Any, **kw: Any) -> None:
        nonlocal acked
        if not acked:
            acked = True
            if a or kw.get("text") or kw.get("blocks"):
                kw.setdefault("response_type", "ephemeral")  # a JSON answer, only to them
            await ack(*a, **kw)

    call.ack = ack_once
    try:
        await sub.handler(call)
        REQUESTS.labels("command", "ok").inc()
    except Exception as exc:
        REQUESTS.labels("command", "error").inc()
        log.error(
            "command failed", subcommand=sub.name, error_type=type(exc).__name__, exc_info=exc
        )
        message = user_message(exc)
        if not acked:
            await ack_once(text=message)
        else:
            await respond(text=message, response_type="ephemeral", replace_original=False)
    finally:
        if not acked:
            await ack_once()


def register(app: AsyncApp, services: Services) -> None:
    app.command("/incident")(handle_incident_command)
