"""Post-mortem subcommands: `/incident action`, `/incident cause`, `/incident postmortem`."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from bot.flows.postmortem.archive import archive_after_edit
from bot.flows.postmortem.docs import load_postmortem
from bot.flows.postmortem.links import link_expiry, link_signer
from bot.services import Services
from bot.slack.people import find_user_id
from handlers.incident_context import incident_for_call
from handlers.subcommands import CommandCall, subcommand
from incident import action_items, timeline
from incident import event_kinds as K
from incident.escaping import escape_mrkdwn
from incident.models import Incident
from incident.postmortem_render import slack_summary
from incident.private import participants
from incident.timefmt import utc_text

MAX_CAUSE_CHARS = 2000
_PLAIN_HANDLE = re.compile(r"\s+@([\w.\-]+)$")
LIST_WORDS = ("all", "list")


def _own_args(call: CommandCall, inc: Incident) -> str:
    """The arguments without the leading incident number, when that is how it was chosen."""
    if inc.channel_id == call.channel_id:
        return call.args.strip()
    parts = call.args.strip().split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


async def _split_owner(call: CommandCall, args: str) -> tuple[str, str | None, str | None]:
    """(text, owner id, handle we could not resolve)."""
    text, owner = action_items.parse_action(args)
    if owner is None and (m := _PLAIN_HANDLE.search(text)):
        owner = await find_user_id(call.services.slack, m.group(1))
        if owner is not None:
            return text[: m.start()].rstrip(), owner, None
        return text, None, m.group(1)
    return text, owner, None


@subcommand(
    "action",
    "/incident action <text> [@owner]",
    "record a follow-up action item for the post-mortem",
    order=60,
)
async def action_command(call: CommandCall) -> None:
    inc = await incident_for_call(call)
    if inc is None:
        return
    text, owner, unknown = await _split_owner(call, _own_args(call, inc))
    if not text:
        await call.ack(text="Usage: `/incident action <what we will change> @owner`")
        return
    s = call.services
    async with s.transaction() as session:
        item = await action_items.add(
            session,
            inc.number,
            text,
            owner_id=owner,
            created_by=call.user_id,
            now=s.clock.now(),
            key=f"action:{call.delivery_key}",
        )
    if item is None:
        await call.ack()  # a redelivery of a command already handled
        return
    who = f"owner <@{owner}>" if owner else "*no owner yet*"
    hint = f" (`@{escape_mrkdwn(unknown)}` is not a Slack user I could find)" if unknown else ""
    await call.ack(
        text=f"📝 Action item for incident #{inc.number}: {escape_mrkdwn(item.text)} — {who}{hint}",
        response_type="in_channel",
    )
    await archive_after_edit(s, inc.number)


@subcommand(
    "cause",
    "/incident cause <text>",
    "note a root-cause candidate (it pre-fills the post-mortem's root cause)",
    order=61,
)
async def cause_command(call: CommandCall) -> None:
    inc = await incident_for_call(call)
    if inc is None:
        return
    text = _own_args(call, inc).strip()[:MAX_CAUSE_CHARS]
    if not text:
        await call.ack(text="Usage: `/incident cause <what may have caused it>`")
        return
    s = call.services
    async with s.transaction() as session:
        recorded = await timeline.record(
            session,
            inc.number,
            K.NOTE,
            at=s.clock.now(),
            actor=call.user_id,
            text=text,
            data={"cause_candidate": True},
            key=f"cause:{call.delivery_key}",
        )
    if not recorded:
        await call.ack()
        return
    await call.ack(
        text=f"🔎 Root-cause candidate noted for incident #{inc.number}: {escape_mrkdwn(text)}",
        response_type="in_channel",
    )
    await archive_after_edit(s, inc.number)


@subcommand(
    "postmortem",
    "/incident postmortem [number|all]",
    "the post-mortem summary and a link to the full document (only you see it)",
    order=62,
    aliases=("pm",),
)
async def postmortem_command(call: CommandCall) -> None:
    s = call.services
    expires = link_expiry(s)
    if call.args.strip().lower() in LIST_WORDS:
        link = link_signer(s).sign_link(None, expires, user=call.user_id)
        await call.ack(
            text=f"<{link}|All post-mortems> (link valid until {utc_text(expires)})",
            response_type="ephemeral",
        )
        return
    inc = await incident_for_call(call)
    if inc is None:
        return
    if inc.private:
        async with s.sessions() as session:
            allowed = call.user_id in await participants(session, inc)
        if not allowed:
            await call.ack(
                text=f"🔒 Incident #{inc.number} is private: only its participants "
                "see its post-mortem."
            )
            return
    pm = await load_postmortem(s, inc.number)
    if pm is None:
        await call.ack(text=f"There is no incident #{inc.number}.")
        return
    link = link_signer(s).sign_link(inc.number, expires, user=call.user_id)
    await call.ack(text=slack_summary(pm, link, link_expires=expires), response_type="ephemeral")


def register(app: AsyncApp, services: Services) -> None:
    """Only subcommands here; `/incident` itself is registered by handlers.commands."""
