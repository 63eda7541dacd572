"""Declaring: `/incident declare SEV2 <title>`, the declare modal, and `/incident repair`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.flows.declare import setup as declare_flow
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.channels import tell
from bot.slack.ui.blocks import DECLARE_CALLBACK, MAX_IMPACT, SERVICE_BLOCK, declare_modal
from handlers.card_actions import text_value
from handlers.incident_context import incident_for_call, is_channel_id, is_user_id
from handlers.subcommands import CommandCall, subcommand
from incident.declaration import DeclarationError, clean_title, parse_declare
from incident.escaping import escape_mrkdwn
from incident.severity import SeverityError, parse_severity
from incident.text_limits import clip_plain

log = get_logger(__name__)
# An input's error is shown under it in the form; keep it to a few lines.
MAX_FIELD_ERROR = 300


def service_names(services: Services) -> list[str]:
    """The catalog's services as of now (none without a catalog): the form offers them and
    a submission is checked against them again, since the catalog may reload in between."""
    catalog = services.catalog.current
    return list(catalog.names) if catalog is not None else []


def responder(call: CommandCall) -> Callable[[str], Awaitable[None]]:
    """Where the declarer hears the outcome: the command's response_url, only to them."""

    async def notify(text: str) -> None:
        await call.respond(text=text, response_type="ephemeral", replace_original=False)

    return notify


@subcommand(
    "declare",
    "/incident declare [SEV1-4|P0-2] <title> [--service <name>] [--private]",
    "declare an incident (no title: open the form)",
    order=1,
)
async def declare_command(call: CommandCall) -> None:
    s = call.services
    if not call.args.strip():
        await call.ack()
        await s.slack.views_open(
            trigger_id=call.trigger_id,
            view=declare_modal(
                default_severity=s.settings.default_severity,
                commander=call.user_id,
                origin_channel=call.channel_id,
                service_names=service_names(s),
            ),
        )
        return
    try:
        decl = parse_declare(call.args, s.settings.default_severity, s.policy.aliases)
    except DeclarationError as exc:
        await call.ack(text=f"⚠️ {exc}")
        return
    names = service_names(s)
    if decl.service is not None and decl.service not in names:
        known = ", ".join(f"`{n}`" for n in names) or "none in the catalog"
        await call.ack(
            text=f"⚠️ `--service {escape_mrkdwn(decl.service[:80])}` is not a catalog service "
            f"(known: {known})."
        )
        return
    await call.ack()
    await declare_flow.declare_incident(
        s,
        title=decl.title,
        severity=decl.severity,
        reporter=call.user_id,
        commander=call.user_id,
        impact=None,
        key=f"cmd:{call.delivery_key}",
        notify=responder(call),
        service=decl.service,
        private=decl.private,
    )


@subcommand("repair", "/incident repair [number]", "retry declare steps Slack refused", order=90)
async def repair_command(call: CommandCall) -> None:
    inc = await incident_for_call(call)
    if inc is None:
        return
    await call.ack()
    outcome = await declare_flow.run_setup(call.services, inc.number)
    await responder(call)(declare_flow.outcome_message(call.services, outcome))


async def handle_declare_submission(ack: Any, body: dict, view: dict, context: dict) -> None:
    services: Services = context["services"]
    values = (view.get("state") or {}).get("values") or {}
    errors: dict[str, str] = {}
    title = ""
    try:
        title = clean_title(text_value(values, "title"))
    except DeclarationError as exc:
        errors["title"] = str(exc)
    severity = services.settings.default_severity
    try:
        severity = parse_severity(text_value(values, "severity"), services.policy.aliases)
    except SeverityError as exc:
        errors["severity"] = str(exc)
    impact = text_value(values, "impact")[:MAX_IMPACT] or None
    user = body["user"]["id"]
    commander = text_value(values, "commander") or user
    if not is_user_id(commander):
        errors["commander"] = "Pick the incident commander from the list."
    service = text_value(values, SERVICE_BLOCK) or None
    names = service_names(services)
    if service is not None and service not in names:
        errors[SERVICE_BLOCK] = unknown_service_error(names)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    origin = view.get("private_metadata") or None  # the channel the form was opened from
    origin = origin if is_channel_id(origin) else None

    async def notify(text: str) -> None:
        await tell(services.slack, user, origin, text)

    await declare_flow.declare_incident(
        services,
        title=title,
        severity=severity,
        reporter=user,
        commander=commander,
        impact=impact,
        key=f"view:{view['id']}",
        notify=notify,
        service=service,
        private=_checked(values, "private"),
    )


def unknown_service_error(names: list[str]) -> str:
    """What the form says under Service when the name is not the catalog's (typed, forged, or
    a catalog reloaded since the form opened): the names it knows, shortened to fit. Plain
    text, which Slack never parses, and the typed name is not echoed."""
    known = ", ".join(sorted(names)) or "none, the catalog has no services"
    return clip_plain(f"Not a catalog service. Known: {known}", MAX_FIELD_ERROR)


def _checked(values: dict[str, Any], block_id: str) -> bool:
    """A checkboxes input: ticked when its option is among the selected ones."""
    chosen = ((values.get(block_id) or {}).get("value") or {}).get("selected_options") or []
    return any(isinstance(o, dict) and o.get("value") == block_id for o in chosen)


def register(app: AsyncApp, services: Services) -> None:
    app.view(DECLARE_CALLBACK)(handle_declare_submission)
