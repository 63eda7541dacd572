"""Running an incident from the command line: `/incident ack | update | status | sev | ic |
note | timeline | resolve | list`.

Typed in the incident's channel they act on that incident; elsewhere they take its number
first (`/incident sev 12 SEV1`), and without one the person gets the list of open incidents.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.flows.errors import user_message
from bot.flows.lifecycle import service as lifecycle_service
from bot.flows.lifecycle.service import Rule, confirmation, problems_text
from bot.flows.reminders import loop as _scheduler  # noqa: F401 - importing starts the reminder loop
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.people import find_user_id
from bot.slack.ui.elements import button, mrkdwn_section
from handlers.card_actions import ephemeral, first_press, open_update_modal, press_of
from handlers.incident_context import incident_for_call
from handlers.subcommands import CommandCall, subcommand
from incident import event_kinds as K
from incident import lifecycle, permissions, registry, timeline
from incident.card import status_label
from incident.escaping import escape_mrkdwn
from incident.lifecycle import LifecycleError, Outcome
from incident.models import Incident, Status, TimelineEvent
from incident.timefmt import duration_text, short_time, utc_text

log = get_logger(__name__)

RESOLVE_CONFIRM = "incident_resolve_confirm"
RESOLVE_CANCEL = "incident_resolve_cancel"
TIMELINE_PAGE = 20
MAX_LINE = 200
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
    key = command_key(call)

    async def rule(session: Any, incident: Incident, now: Any) -> Outcome:
        return await lifecycle.acknowledge(session, incident, actor=call.user_id, now=now, key=key)

    await _run(call, inc, rule)


@subcommand(
    "update",
    "/incident update <text>",
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
    key = command_key(call)

    async def rule(session: Any, incident: Incident, now: Any) -> Outcome:
        return await lifecycle.post_update(
            session, incident, text, actor=call.user_id, now=now, key=key
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
        # escaped first: the refusal quotes what was typed (valid states have no <>&)
        status = lifecycle.parse_status(escape_mrkdwn(wanted))
    except LifecycleError as exc:
        await call.ack(text=f"⚠️ {exc}")
        return
    if status == Status.RESOLVED.value:
        await _confirm_resolve(call, inc, None)
        return
    key = command_key(call)

    async def rule(session: Any, incident: Incident, now: Any) -> Outcome:
        return await lifecycle.set_status(
            session, incident, status, actor=call.user_id, now=now, key=key
        )

    await _run(call, inc, rule)


@subcommand("sev", "/incident sev <SEV1-4>", "change the severity", order=13, aliases=("severity",))
async def severity_command(call: CommandCall) -> None:
    if (inc := await incident_for_call(call)) is None:
        return
    try:
        severity = lifecycle.parse_severity(escape_mrkdwn(own_args(call, inc)))
    except LifecycleError as exc:
        await call.ack(text=f"⚠️ {exc}")
        return
    key = command_key(call)

    async def rule(session: Any, incident: Incident, now: Any) -> Outcome:
        return await lifecycle.set_severity(
            session, incident, severity, actor=call.user_id, now=now, key=key
        )

    await _run(call, inc, rule, permission=permissions.SEVERITY)


async def user_from_text(services: Services, text: str) -> str | None:
    """`<@U123>`, `<@U123|name>` (Slack's escaped mention), `U123`, or `@name` looked up."""
    text = text.strip()
    if m := _MENTION.fullmatch(text):
        return m.group(1)
    if re.fullmatch(r"[UW][A-Z0-9]{2,}", text):
        return text
    if re.fullmatch(r"@?[\w.\-]+", text):
        return await find_user_id(services, text)
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
    key = command_key(call)

    async def rule(session: Any, incident: Incident, now: Any) -> Outcome:
        return await lifecycle.set_commander(
            session, incident, user, actor=call.user_id, now=now, key=key
        )

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
    key = command_key(call)

    async def rule(session: Any, incident: Incident, now: Any) -> Outcome:
        return await lifecycle.add_note(
            session, incident, text, actor=call.user_id, now=now, cause_candidate=cause, key=key
        )

    await _run(call, inc, rule)


# -- timeline -----------------------------------------------------------------------------


def _clip(text: str | None) -> str:
    value = " ".join((text or "").split())
    if len(value) > MAX_LINE:
        value = value[: MAX_LINE - 1] + "…"
    return escape_mrkdwn(value)


def _detail(e: TimelineEvent) -> str:
    data = e.data or {}
    before, after = data.get("before"), data.get("after")
    if e.kind in (K.STATUS, K.SEVERITY):
        return f"{before} → {after}"
    if e.kind == K.COMMANDER:
        return f"<@{before}> → <@{after}>"
    if e.kind == K.UPDATE:
        prefix = f"[{status_label(data['status'])}] " if data.get("status") else ""
        return prefix + _clip(e.text)
    if e.kind == K.NOTE:
        return ("root-cause candidate: " if data.get("cause_candidate") else "") + _clip(e.text)
    if e.kind == K.DENIED:
        return f"refused: {_clip(data.get('what'))}"
    if e.kind in (K.REMINDER, K.ESCALATION):
        return _clip(data.get("kind") or data.get("group") or "")
    if e.kind == K.SETUP_FAILED:
        return _clip(f"{data.get('step')}: {data.get('error')}")
    return _clip(e.text)


def timeline_lines(events: list[TimelineEvent]) -> list[str]:
    lines: list[str] = []
    day = None
    for e in events:
        when = short_time(e.occurred_at)
        if e.occurred_at.date() != day:
            day = e.occurred_at.date()
            when = utc_text(e.occurred_at)
        who = f" <@{e.actor}>" if e.actor else ""
        detail = _detail(e)
        lines.append(f"`{when}` *{e.kind}*{who}" + (f" — {detail}" if detail else ""))
    return lines


def _shown(e: TimelineEvent) -> bool:
    return not e.kind.startswith(K.SETUP_PREFIX) or e.kind == K.SETUP_FAILED


@subcommand("timeline", "/incident timeline [page]", "the incident's timeline, newest page last")
async def timeline_command(call: CommandCall) -> None:
    if (inc := await incident_for_call(call)) is None:
        return
    arg = own_args(call, inc)
    if arg and not (arg.isascii() and arg.isdigit()):
        await call.ack(text="⚠️ The page is a number: `/incident timeline 2`.")
        return
    async with call.services.sessions() as session:
        events = [e for e in await timeline.events(session, inc.number) if _shown(e)]
    pages = max(1, -(-len(events) // TIMELINE_PAGE))
    page = int(arg) if arg else 1
    if not 1 <= page <= pages:
        await call.ack(text=f"⚠️ The timeline of incident #{inc.number} has {pages} page(s).")
        return
    chunk = events[(page - 1) * TIMELINE_PAGE : page * TIMELINE_PAGE]
    head = f"*Timeline of incident #{inc.number}* — page {page}/{pages} ({len(events)} events)"
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
    value = json.dumps({"n": inc.number, "s": summary or ""})
    shown = f"\n>{escape_mrkdwn(summary)}" if summary else "\n_No summary given._"
    question = f"Resolve incident #{inc.number} (*{escape_mrkdwn(inc.title)}*)?{shown}"
    await call.ack(
        text=question,
        blocks=[
            mrkdwn_section(question),
            {
                "type": "actions",
                "block_id": f"resolve:{inc.number}",
                "elements": [
                    button(RESOLVE_CONFIRM, "Confirm", value, style="danger"),
                    button(RESOLVE_CANCEL, "Cancel", str(inc.number)),
                ],
            },
        ],
    )


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
    try:
        value = json.loads(action.get("value") or "{}")
        number, summary = int(value["n"]), str(value.get("s") or "") or None
    except (ValueError, KeyError, TypeError):
        await ephemeral(respond, "⚠️ This button does not name an incident; nothing was done.")
        return
    press = press_of(body)
    if not await first_press(services, press):
        return  # Slack's retry of a confirmation already handled
    key = press.key

    async def rule(session: Any, incident: Incident, now: Any) -> Outcome:
        return await lifecycle.resolve(session, incident, summary, actor=user, now=now, key=key)

    try:
        applied = await lifecycle_service.apply(
            services, number, rule, actor=user, permission=permissions.RESOLVE, key=key
        )
    except LifecycleError as exc:
        await respond(text=f"⚠️ {exc}", replace_original=True)
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
    number = (body.get("actions") or [{}])[0].get("value") or "?"
    await respond(text=f"Not resolved: incident #{number} stays open.", replace_original=True)


# -- list ---------------------------------------------------------------------------------


def open_list(incidents: list[Incident], now: Any) -> str:
    if not incidents:
        return "There are no open incidents. 🎉"
    lines = [
        f"• *{i.severity}* #{i.number} {escape_mrkdwn(i.title[:80])} — "
        f"{status_label(i.status)}, open {duration_text(now - i.declared_at)}, "
        f"IC <@{i.commander_id}>" + (f" · <#{i.channel_id}>" if i.channel_id else "")
        for i in incidents
    ]
    return f"*Open incidents ({len(incidents)}):*\n" + "\n".join(lines)


@subcommand("list", "/incident list", "open incidents everywhere", order=30)
async def list_command(call: CommandCall) -> None:
    async with call.services.sessions() as session:
        incidents = await registry.open_incidents(session)
    incidents.sort(key=lambda i: (i.severity, i.declared_at))
    text = open_list(incidents[:MAX_LISTED], call.services.clock.now())
    if len(incidents) > MAX_LISTED:
        text += f"\n_…and {len(incidents) - MAX_LISTED} more._"
    await call.ack(text=text)


def register(app: AsyncApp) -> None:
    app.action(RESOLVE_CONFIRM)(on_resolve_confirm)
    app.action(RESOLVE_CANCEL)(on_resolve_cancel)
