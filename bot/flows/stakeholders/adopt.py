"""Finding a stakeholder summary Slack already shows but the database does not remember.

`chat.postMessage` and the write of its ts are two steps: a crash, a dead Postgres or a 5xx
/timeout answer (Slack may have posted all the same; the client never retries such a write)
between them leaves a summary in the channel with no ts stored, and the next refresh would
post a second one. So before posting, the flow asks the channel's recent history for a
summary of ours and adopts it (stores its ts, edits it) instead, as the declare flow's
`bot.flows.declare.adopt` does for the card.

A summary is told by its message `metadata` (an event type of ours and the incident number):
invisible to readers, stable across edits and text changes, and only an app can set it. Only
messages posted by warroom's own bot user count, so another app's message never matches.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from bot.flows.declare.adopt import bot_user_id
from bot.logging_setup import get_logger
from bot.services import Services

log = get_logger(__name__)

EVENT_TYPE = "warroom_stakeholder_summary"
# How far back to look: a summary is posted at declaration or at the change that first gave
# the incident this audience, and a stakeholder channel is quiet; a bounded read keeps the
# lookup one cheap call.
HISTORY_LIMIT = 100
# Expected, not a fault: warroom joins a public stakeholder channel only when it first posts
# there, so before that it cannot read it, and nothing of ours can be in it to adopt.
_NOT_A_MEMBER = "not_in_channel"


def metadata(number: int) -> dict[str, Any]:
    """The marker sent with every summary (posts and edits) of incident `number`."""
    return {"event_type": EVENT_TYPE, "event_payload": {"incident": number}}


def is_summary(msg: dict[str, Any], number: int, bot: str) -> bool:
    if msg.get("user") != bot:
        return False
    meta = msg.get("metadata") or {}
    if meta.get("event_type") != EVENT_TYPE:
        return False
    return (meta.get("event_payload") or {}).get("incident") == number


async def posted_summary(services: Services, channel: str, number: int) -> str | None:
    """The ts of our summary of incident `number` already in `channel` (the newest, should
    there be more), or None: none there, or the history could not be read, in which case the
    caller posts as it would have without this lookup."""
    try:
        resp = await services.slack.conversations_history(
            channel=channel, limit=HISTORY_LIMIT, include_all_metadata=True
        )
        bot = await bot_user_id(services)
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error == _NOT_A_MEMBER:
            log.info("stakeholder channel not joined yet", channel=channel, incident=number)
        else:
            log.warning(
                "cannot look for an earlier stakeholder summary: posting anyway",
                channel=channel,
                incident=number,
                error=error,
            )
        return None
    for msg in resp.get("messages") or []:  # newest first
        if is_summary(msg, number, bot):
            return msg.get("ts")
    return None
