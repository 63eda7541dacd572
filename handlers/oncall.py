"""On call from the command line: `/incident oncall [schedule]` (who holds the pager, and who
takes over when) and `/incident page <@user | schedule | usergroup> [message]` (a page by hand,
the same page an escalation step sends). The DM's **Acknowledge** is the card's own button
(bot.slack.ui.oncall), so handlers.card_actions answers it; once acknowledged, by any path,
the escalation loop edits every page DM to say who acknowledged (bot.flows.oncall.acked)."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from bot.flows.lifecycle import service as lifecycle_service
from bot.flows.oncall import page as paging
from bot.flows.oncall.policy import schedules
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.people import find_user_id
from bot.slack.ui.oncall import oncall_text
from handlers.incident_context import incident_for_call, is_user_id
from handlers.subcommands import CommandCall, subcommand
from incident.escaping import escape_mrkdwn
from incident.oncall import TARGET_FORMS, Target, parse_target

log = get_logger(__name__)

PAGE_USAGE = "/incident page <@person | schedule | usergroup> [message]"
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_GROUP_MENTION = re.compile(r"<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>")
_HANDLE = re.compile(r"@?[\w.\-]{1,80}")


@subcommand(
    "oncall", "/incident oncall [schedule]", "who is on call now, and the next handoff", order=40
)
async def oncall_command(call: CommandCall) -> None:
    wanted = call.args.strip().split(maxsplit=1)[0] if call.args.strip() else None
    text = oncall_text(schedules(call.services), call.services.clock.now(), wanted)
    await call.ack(text=text)


async def target_from_text(services: Services, text: str) -> Target | None:
    """`<@U…>`, `U…`, `<!subteam^S…>`, `schedule:NAME[:next]`, `usergroup:…`, `user:U…`, a
    schedule's name, or `@name` (a person by name, else a user group handle)."""
    if m := _USER_MENTION.fullmatch(text):
        return Target("user", m.group(1)) if is_user_id(m.group(1)) else None
    if m := _GROUP_MENTION.fullmatch(text):
        return Target("usergroup", m.group(1))
    if ":" in text:
        try:
            return parse_target(text)
        except ValueError:
            return None
    if is_user_id(text):
        return Target("user", text)
    if text in schedules(services):
        return Target("schedule", text)
    if not _HANDLE.fullmatch(text):
        return None
    if user := await find_user_id(services.slack, text):
        return Target("user", user)
    handle = text.lstrip("@")
    try:
        if await lifecycle_service.group_id(services, handle):
            return Target("usergroup", handle)
    except Exception as exc:  # Slack could not list groups: say we do not know the name
        log.warning("user group lookup failed", error_type=type(exc).__name__)
    return None


@subcommand("page", PAGE_USAGE, "page someone now: a DM with Acknowledge", order=41)
async def page_command(call: CommandCall) -> None:
    if (inc := await incident_for_call(call, number_arg=False)) is None:
        return
    who, _, message = call.args.strip().partition(" ")
    if not who:
        await call.ack(text=f"Whom to page? `{PAGE_USAGE}`")
        return
    target = await target_from_text(call.services, who)
    if target is None:
        await call.ack(
            text=f"⚠️ `{escape_mrkdwn(who[:80])}` is nobody I can page: name a person "
            f"(`@name`), a schedule, a user group, or {TARGET_FORMS}."
        )
        return
    await call.ack(text=f"📟 Paging `{escape_mrkdwn(str(target))}` for incident #{inc.number}…")
    try:
        await paging.page_by_hand(
            call.services,
            inc.number,
            target,
            actor=call.user_id,
            message=message.strip() or None,
            key=f"page:cmd:{call.delivery_key}",
        )
    except paging.PageRefused as exc:
        await call.respond(text=f"⚠️ {exc}", response_type="ephemeral", replace_original=False)


def register(app: AsyncApp, services: Services) -> None:
    """Nothing of its own to attach: the subcommands are in the table, and the DM's button
    is the card's Acknowledge (handlers.card_actions)."""
