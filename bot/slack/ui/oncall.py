"""What paging looks like in Slack: the direct message with **Acknowledge** (the card's own
button id, so the press goes through the card's acknowledge path), the lines posted in the
incident channel, and the `/incident oncall` answer. No I/O; every text a person or a
catalog wrote is escaped, and every block is cut to Slack's limits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.slack.ui.card_buttons import ACK
from bot.slack.ui.elements import button, context, mrkdwn_section
from incident.escaping import escape_mrkdwn
from incident.models import Incident
from incident.oncall import Schedule, next_handoff, on_call, on_call_next
from incident.roles import is_user
from incident.text_limits import clip_mrkdwn
from incident.timefmt import slack_time

MAX_MESSAGE = 2000  # characters of a paging message quoted in the DM (a section holds 3000)
FALLBACK_TEXT = 3000  # the notification text; Slack's own limit is far higher


def who(kind: str, ref: str, group_id: str | None = None) -> str:
    """`<@U…>` for a user, `<!subteam^S…>` for a group whose id is known, else `@handle`."""
    if kind == "user":
        return f"<@{ref}>"
    if group_id:
        return f"<!subteam^{group_id}>"
    return f"@{escape_mrkdwn(ref.lstrip('@'))}"


def _where(inc: Incident) -> str:
    return f"<#{inc.channel_id}>" if inc.channel_id else "(its channel is not set up yet)"


def _quote(message: str | None) -> str:
    if not message:
        return ""
    text = escape_mrkdwn(message.strip())
    text = clip_mrkdwn(text, MAX_MESSAGE)
    return "\n" + "\n".join(f">{line}" for line in text.splitlines() or [""])


def ack_button(inc: Incident) -> dict[str, Any]:
    return button(ACK, "Acknowledge", str(inc.number), style="primary")


def _dm_head(inc: Incident, paged_by: str | None, message: str | None) -> dict[str, Any]:
    title = escape_mrkdwn(inc.title)
    by = f" by <@{paged_by}>" if paged_by else ""
    service = f" · service `{escape_mrkdwn(inc.service)}`" if inc.service else ""
    head = (
        f"📟 *You are paged{by}* for incident #{inc.number} ({inc.severity}): *{title}*\n"
        f"Channel: {_where(inc)}{service}"
    )
    return mrkdwn_section(head + _quote(message))


def page_dm(
    inc: Incident, *, reason: str, paged_by: str | None = None, message: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The direct message to the person paged. ``reason`` says why them (mrkdwn, already
    escaped: `step 1 of escalation platform (schedule:platform)`)."""
    title = escape_mrkdwn(inc.title)
    text = f"📟 You are paged for incident #{inc.number} ({inc.severity}): {title}"
    blocks = [
        _dm_head(inc, paged_by, message),
        {"type": "actions", "elements": [ack_button(inc)]},
        context(f"Paged as {reason}. Acknowledging stops the escalation."),
    ]
    return clip_mrkdwn(text, FALLBACK_TEXT), blocks


def page_dm_acknowledged(
    inc: Incident,
    *,
    acked_by: str | None,
    acked_at: datetime,
    paged_by: str | None = None,
    message: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """The page DM once the incident is acknowledged: the same page, and instead of the
    button who acknowledged and when, so nobody paged still wonders whether to act.
    ``acked_by`` is a user id (the timeline's actor), None when the timeline names nobody."""
    title = escape_mrkdwn(inc.title)
    if acked_by and is_user(acked_by):
        who = f" by <@{acked_by}>"
    else:  # not a Slack user: named as plain text, never a mention
        who = f" by {escape_mrkdwn(acked_by)}" if acked_by else ""
    when = slack_time(acked_at)
    text = f"✅ Incident #{inc.number} ({inc.severity}) was acknowledged{who}: {title}"
    blocks = [
        _dm_head(inc, paged_by, message),
        context(f"✅ Acknowledged{who} · {when}. The escalation is stopped."),
    ]
    return clip_mrkdwn(text, FALLBACK_TEXT), blocks


def page_notice(
    inc: Incident, mention: str, *, reason: str, paged_by: str | None, message: str | None
) -> str:
    """The line in the incident channel saying who was paged (it mentions them too)."""
    by = f"<@{paged_by}> paged" if paged_by else "Paging"
    return clip_mrkdwn(
        f"📟 {by} {mention} ({reason}) for incident #{inc.number}. Acknowledge with the "
        f"card's *Acknowledge* or `/incident ack`." + _quote(message),
        FALLBACK_TEXT,
    )


def group_page(
    inc: Incident, mention: str, *, reason: str, paged_by: str | None, message: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """A group is paged in the incident channel (members are invited, nobody is DM'd)."""
    text = page_notice(inc, mention, reason=reason, paged_by=paged_by, message=message)
    return text, [mrkdwn_section(text), {"type": "actions", "elements": [ack_button(inc)]}]


def repeat_notice(inc: Incident, mention: str, *, repeat: int, of: int, reason: str) -> str:
    title = escape_mrkdwn(inc.title)
    return clip_mrkdwn(
        f"🚨 Incident #{inc.number} ({inc.severity}) *{title}* is still not acknowledged: "
        f"{mention} please respond (repeat {repeat} of {of}, {reason}). Press *Acknowledge* "
        "on the card or run `/incident ack`.",
        FALLBACK_TEXT,
    )


# -- /incident oncall ------------------------------------------------------------------------


def schedule_line(schedule: Schedule, at: datetime) -> str:
    now = on_call(schedule, at)
    handoff = next_handoff(schedule, at)
    after = on_call_next(schedule, at)
    zone = escape_mrkdwn(str(schedule.timezone))
    return (
        f"• *{escape_mrkdwn(schedule.name)}* ({zone}): <@{now}> is on call; "
        f"next handoff {slack_time(handoff)} to <@{after}>"
    )


def oncall_text(schedules: Mapping[str, Schedule], at: datetime, wanted: str | None) -> str:
    """Who is on call now and who takes over when, in every schedule or in ``wanted``."""
    if not schedules:
        return "No on-call schedules are configured (the catalog's `oncall:` section)."
    if wanted is not None and wanted not in schedules:
        known = ", ".join(f"`{escape_mrkdwn(n)}`" for n in sorted(schedules))
        return f"There is no schedule `{escape_mrkdwn(wanted[:80])}`. Known schedules: {known}."
    names = [wanted] if wanted is not None else sorted(schedules)
    lines = [schedule_line(schedules[n], at) for n in names]
    return clip_mrkdwn("*On call*\n" + "\n".join(lines), FALLBACK_TEXT)
