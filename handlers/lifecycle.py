"""Running an incident from the command line: `/incident ack | update | status | sev | ic |
note | timeline | resolve | list`.

Typed in the incident's channel they act on that incident; elsewhere they take its number
first (`/incident sev 12 SEV1`), and without one the person gets the list of open incidents.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.flows.card import stash_text, unstash_text
from bot.flows.errors import user_message
from bot.flows.lifecycle import service as lifecycle_service
from bot.flows.lifecycle.service import Rule, confirmation, problems_text, rule_of
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.people import find_user_id
from bot.slack.ui.card_buttons import RESOLVE_CANCEL, RESOLVE_CONFIRM
from bot.slack.ui.incident_text import (
    open_list,
    read_resolve_value,
    resolve_question,
    shown_on_timeline,
    timeline_lines,
)
from handlers.card_actions import (
    NO_INCIDENT_BUTTON,
    ephemeral,
    first_press,
    open_update_modal,
    press_of,
)
from handlers.incident_context import incident_for_call, incident_number, is_user_id
from handlers.subcommands import CommandCall, subcommand
from incident import lifecycle, permissions, registry, timeline
from incident.card import status_label
from incident.declaration import take_options
from incident.escaping import escape_mrkdwn
from incident.lifecycle import LifecycleError
from incident.models import Incident, Status
from incident.numbers import parse_count
from incident.severity import SeverityError, levels_text, parse_severity
from incident.words import plural

log = get_logger(__name__)

TIMELINE_PAGE = 20
MAX_LISTED = 40
# A button value holds at most 2000 characters, the summary travels in it.
MAX_CONFIRM_SUMMARY = 1800
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


# -- shared plumbing ----------------------------------------------------------------------


def own_args(call: CommandCall, inc: Incident) -> str:
    """The arguments after the incident number, when one was needed to find the incident."""
    args = call.args.strip()
    if inc.channel_id == call.channel_id:
        return args
    first, _, rest = args.partition(" ")
    return rest.strip() if first.lstrip("#") == str(inc.number) else args


def command_key(call: CommandCall) -> str:
    return f"cmd:{call.delivery_key}"


async def _run(
    call: CommandCall,
    inc: Incident,
    rule: Rule,
    *,
    permission: str | None = None,
) -> None:
    """Store, answer the person, then let Slack catch up (card, channel, #incidents)."""
    key = command_key(call)
    try:
        applied = await lifecycle_service.apply(
            call.services, inc.number, rule, actor=call.user_id, permission=permission, key=key
        )
    except LifecycleError as exc:
        await call.ack(text=f"⚠️ {exc}")
        return
    await call.ack(text=confirmation(applied.outcome))
    await lifecycle_service.follow_up(call.services, applied, call.user_id)
    if applied.problems:
        await call.respond(
            text=problems_text(applied), response_type="ephemeral", replace_original=False
        )


# -- subcommands --------------------------------------------------------------------------


@subcommand("ack", "/incident ack", "acknowledge: someone is on it (stops escalation)", order=10)
async def ack_command(call: CommandCall) -> None:
    if (inc := await incident_for_call(call)) is None:
        return
    await _run(call, inc, rule_of(lifecycle.acknowledge, actor=call.user_id, key=command_key(call)))


@subcommand(
    "update",
    "/incident update [--public] <text>",
    "post a status update (no text: a form with status and impact)",
    order=11,
)
async def update_command(call: CommandCall) -> None:
    if (inc := await incident_for_call(call)) is None:
        return
    text = own_args(call, inc)
    if not text:
        if not inc.is_open:
            await call.ack(text=f"⚠️ {lifecycle.IncidentResolved(inc)}")
            return
        await call.ack()
        await open_update_modal(call.services, inc, call.trigger_id, call.channel_id)
        return
    public = False
    if "--public" in text.split():  # only then: take_options joins the words with spaces
        options, text = take_options(text, flags=("--public",))
        public = "--public" in options
    if not text:
        await call.ack(text="⚠️ Write the public update after `--public`.")
        return
    rule = rule_of(
        lifecycle.post_update, text, actor=call.user_id, key=command_key(call), public=public
    )
    await _run(call, inc, rule)


@subcommand(
    "status",
    "/incident status <investigating|identified|mitigating|monitoring>",
    "move the incident along",
    order=12,
)
async def status_command(call: CommandCall) -> None:
    if (inc := await incident_for_call(call)) is None:
        return
    wanted = own_args(call, inc)
    if not wanted:
        states = ", ".join(s.value for s in Status if s is not Status.RESOLVED)
        await call.ack(
            text=f"Incident #{inc.number} is *{status_label(inc.status)}*. "
            f"Give the new status: `/incident status <state>` ({states})."
        )
        return
    try:
        status = lifecycle.parse_status(wanted)
    except LifecycleError as exc:
        await call.ack(text=f"⚠️ {exc}")
        return
    if status == Status.RESOLVED.value:
        await _confirm_resolve(call, inc, None)
        return
    rule = rule_of(lifecycle.set_status, status, actor=call.user_id, key=command_key(call))
    await _run(call, inc, rule)


@subcommand("sev", "/incident sev <SEV1-4>", "change the severity", order=13, aliases=("severity",))
async def severity_command(call: CommandCall) -> None:
    if (inc := await incident_for_call(call)) is None:
        return
    aliases = call.services.policy.aliases
    wanted = own_args(call, inc)
    if not wanted:
        await call.ack(
            text=f"Incident #{inc.number} is *{inc.severity}*. Give the new severity: "
            f"`/incident sev <level>`, one of {levels_text(aliases)}."
        )
        return
    try:
        severity = parse_severity(wanted, aliases)
    except SeverityError as exc:
        await call.ack(text=f"⚠️ {exc}")
        return
    rule = rule_of(lifecycle.set_severity, severity, actor=call.user_id, key=command_key(call))
    await _run(call, inc, rule, permission=permissions.SEVERITY)


async def user_from_text(services: Services, text: str) -> str | None:
    """`<@U123>`, `<@U123|name>` (Slack's escaped mention), `U123`, or `@name` looked up."""
    text = text.strip()
    if m := _MENTION.fullmatch(text):
        return m.group(1) if is_user_id(m.group(1)) else None
    if is_user_id(text):
        return text
    if re.fullmatch(r"@?[\w.\-]+", text):
        return await find_user_id(services.slack, text)
    return None


@subcommand(
    "ic", "/incident ic @person", "hand over incident command", order=14, aliases=("commander",)
)
async def commander_command(call: CommandCall) -> None:
    if (inc := await incident_for_call(call)) is None:
        return
    who = own_args(call, inc)
    if not who:
        await call.ack(
            text=f"<@{inc.commander_id}> commands incident #{inc.number}. "
            "Name the new commander: `/incident ic @person`."
        )
        return
    user = await user_from_text(call.services, who)
    if user is None:
        await call.ack(
            text=f"⚠️ I could not find `{escape_mrkdwn(who[:40])}` in this workspace. "
            "Mention them, like `/incident ic @alice`."
        )
        return
    rule = rule_of(lifecycle.set_commander, user, actor=call.user_id, key=command_key(call))
    await _run(call, inc, rule, permission=permissions.COMMANDER)


@subcommand(
    "note",
    "/incident note <text>",
    "add a note to the timeline (`note cause: …` marks a root-cause candidate)",
    order=15,
)
async def note_command(call: CommandCall) -> None:
    if (inc := await incident_for_call(call)) is None:
        return
    text = own_args(call, inc)
    cause = bool(re.match(r"(?i)(root[- ]?)?cause:", text))
    if cause:
        text = text.split(":", 1)[1]
    rule = rule_of(
        lifecycle.add_note, text, actor=call.user_id, key=command_key(call), cause_candidate=cause
    )
    await _run(call, inc, rule)


# -- timeline -----------------------------------------------------------------------------


@subcommand("timeline", "/incident timeline [page]", "the incident's timeline, newest page last")
async def timeline_command(call: CommandCall) -> None:
    if (inc := await incident_for_call(call)) is None:
        return
    arg = own_args(call, inc)
    try:
        page = parse_count(arg, minimum=1, what="page") if arg else 1
    except ValueError:
        await call.ack(text="⚠️ The page is a number: `/incident timeline 2`.")
        return
    async with call.services.sessions() as session:
        events = [e for e in await timeline.events(session, inc.number) if shown_on_timeline(e)]
    pages = max(1, -(-len(events) // TIMELINE_PAGE))
    if not 1 <= page <= pages:
        await call.ack(
            text=f"⚠️ The timeline of incident #{inc.number} has {plural(pages, 'page')}."
        )
        return
    chunk = events[(page - 1) * TIMELINE_PAGE : page * TIMELINE_PAGE]
    count = plural(len(events), "event")
    head = f"*Timeline of incident #{inc.number}* — page {page}/{pages} ({count})"
    more = f"\n_Next: `/incident timeline {page + 1}`_" if page < pages else ""
    await call.ack(text=head + "\n" + "\n".join(timeline_lines(chunk)) + more)


# -- resolve ------------------------------------------------------------------------------


async def _confirm_resolve(call: CommandCall, inc: Incident, summary: str | None) -> None:
    """Resolution is final, so the command asks once more with Confirm / Cancel."""
    try:
        await lifecycle_service.precheck(
            call.services,
            inc.number,
            call.user_id,
            permissions.RESOLVE,
            key=command_key(call),
        )
    except LifecycleError as exc:
        await call.ack(text=f"⚠️ {exc}")
        return
    try:  # the summary waits in Redis; the Confirm button carries only its id
        summary_id = await stash_text(call.services, summary) if summary else None
    except Exception as exc:
        await call.ack(text=user_message(exc))
        return
    question, blocks = resolve_question(inc, summary, summary_id)
    await call.ack(text=question, blocks=blocks)


@subcommand("resolve", "/incident resolve [summary]", "resolve (asks to confirm first)", order=19)
async def resolve_command(call: CommandCall) -> None:
    if (inc := await incident_for_call(call)) is None:
        return
    summary = own_args(call, inc) or None
    if summary and len(summary) > MAX_CONFIRM_SUMMARY:
        await call.ack(
            text=f"⚠️ That summary is {len(summary)} characters long; keep it under "
            f"{MAX_CONFIRM_SUMMARY}, or use the card's *Resolve* button for a longer one."
        )
        return
    await _confirm_resolve(call, inc, summary)


async def on_resolve_confirm(ack: Any, body: dict, respond: Any, context: dict) -> None:
    await ack()
    services: Services = context["services"]
    user = body["user"]["id"]
    action = (body.get("actions") or [{}])[0]
    if (confirmed := read_resolve_value(action.get("value"))) is None:
        await ephemeral(respond, NO_INCIDENT_BUTTON)
        return
    number, summary_id = confirmed
    if incident_number(number) is None:  # past Postgres' integer: no incident of ours
        await ephemeral(respond, NO_INCIDENT_BUTTON)
        return
    summary = await unstash_text(services, summary_id) if summary_id else None
    if summary_id and summary is None:
        await ephemeral(respond, "⚠️ This question has expired; run `/incident resolve` again.")
        return
    press = press_of(body)
    if not await first_press(services, press):
        return  # Slack's retry of a confirmation already handled
    key = press.key
    rule = rule_of(lifecycle.resolve, summary, actor=user, key=key)
    try:
        applied = await lifecycle_service.apply(
            services, number, rule, actor=user, permission=permissions.RESOLVE, key=key
        )
    except LifecycleError as exc:  # only the presser is told; the question stays for others
        await ephemeral(respond, f"⚠️ {exc}")
        return
    except Exception as exc:
        log.error("resolve failed", incident=number, error_type=type(exc).__name__)
        await ephemeral(respond, user_message(exc))
        return
    if applied.outcome.duplicate:
        return
    await respond(text=confirmation(applied.outcome), replace_original=True)
    await lifecycle_service.follow_up(services, applied, user)
    if applied.problems:
        await ephemeral(respond, problems_text(applied))


async def on_resolve_cancel(ack: Any, body: dict, respond: Any) -> None:
    await ack()
    number = escape_mrkdwn(str((body.get("actions") or [{}])[0].get("value") or "?"))
    await respond(text=f"Not resolved: incident #{number} stays open.", replace_original=True)


# -- list ---------------------------------------------------------------------------------


@subcommand("list", "/incident list", "open incidents everywhere", order=30)
async def list_command(call: CommandCall) -> None:
    async with call.services.sessions() as session:
        incidents = await registry.open_incidents(session)
    incidents.sort(key=lambda i: (i.severity, i.declared_at))
    text = open_list(incidents[:MAX_LISTED], call.services.clock.now())
    if len(incidents) > MAX_LISTED:
        text += f"\n_…and {len(incidents) - MAX_LISTED} more._"
    await call.ack(text=text)


def register(app: AsyncApp, services: Services) -> None:
    app.action(RESOLVE_CONFIRM)(on_resolve_confirm)
    app.action(RESOLVE_CANCEL)(on_resolve_cancel)
