"""What `/incident` answers with besides a one-line confirmation: the timeline, the lists of
open incidents, and the resolve question with its Confirm / Cancel buttons. Pure builders;
every piece of user text goes through `escape_mrkdwn` here, once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.slack.ui.card_buttons import RESOLVE, RESOLVE_CANCEL, RESOLVE_CONFIRM, RESOLVE_DIALOG
from bot.slack.ui.elements import actions, button, mrkdwn_section
from incident import event_kinds as K
from incident.card import status_label
from incident.escaping import escape_mrkdwn
from incident.models import Incident, TimelineEvent
from incident.numbers import parse_count
from incident.text_limits import MESSAGE_TEXT, SECTION_TEXT, clip_mrkdwn
from incident.timefmt import duration_text, short_time, utc_text

MAX_LINE = 200
# Only the channel's own list is short: it answers a command typed in the wrong place.
MAX_SHORT_LIST = 20


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
    if e.kind == K.PAGE:
        who = f"<@{data.get('ref')}>" if data.get("kind") == "user" else f"@{data.get('ref')}"
        return _clip(f"{who} ({data.get('target')})" + (f": {e.text}" if e.text else ""))
    if e.kind == K.SETUP_FAILED:
        return _clip(f"{data.get('step')}: {data.get('error')}")
    return _clip(e.text)


def shown_on_timeline(e: TimelineEvent) -> bool:
    """Set-up steps that worked are bookkeeping; a failed one is news."""
    return not e.kind.startswith(K.SETUP_PREFIX) or e.kind == K.SETUP_FAILED


def timeline_lines(events: list[TimelineEvent]) -> list[str]:
    """One line an event; the first of each day carries the date."""
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


# -- lists --------------------------------------------------------------------------------


def open_list(incidents: list[Incident], now: datetime) -> str:
    """`/incident list`: everything a responder needs to pick one."""
    if not incidents:
        return "There are no open incidents. 🎉"
    lines = [
        f"• *{i.severity}* #{i.number} {escape_mrkdwn(i.title[:80])} — "
        f"{status_label(i.status)}, open {duration_text(now - i.declared_at)}, "
        f"IC <@{i.commander_id}>" + (f" · <#{i.channel_id}>" if i.channel_id else "")
        for i in incidents
    ]
    text = f"*Open incidents ({len(incidents)}):*\n" + "\n".join(lines)
    return clip_mrkdwn(text, MESSAGE_TEXT, note="\n…")


def short_open_list(incidents: list[Incident]) -> str:
    """Where to go instead, after a command typed outside an incident channel."""
    if not incidents:
        return "There are no open incidents."
    lines = [
        f"• #{i.number} {i.severity} — {escape_mrkdwn(i.title[:60])}"
        + (f" <#{i.channel_id}>" if i.channel_id else "")
        for i in incidents[:MAX_SHORT_LIST]
    ]
    return "Open incidents:\n" + "\n".join(lines)


# -- resolving ----------------------------------------------------------------------------


def resolve_question(
    incident: Incident, summary: str | None, summary_id: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Resolution is final, so `/incident resolve` asks once more. The summary waits in
    storage under `summary_id` and the Confirm button carries only `number:summary_id`: a
    button value holds 2,000 characters, and the JSON of an emoji-rich summary is many times
    longer than the summary (see `read_resolve_value`)."""
    value = f"{incident.number}:{summary_id or ''}"
    shown = f"\n>{escape_mrkdwn(summary)}" if summary else "\n_No summary given._"
    question = clip_mrkdwn(
        f"Resolve incident #{incident.number} (*{escape_mrkdwn(incident.title)}*)?{shown}",
        SECTION_TEXT,
        note=" … (shortened here; the whole summary is kept)",
    )
    blocks = [
        mrkdwn_section(question),
        actions(
            f"resolve:{incident.number}",
            button(RESOLVE_CONFIRM, "Confirm", value, style="danger"),
            button(RESOLVE_CANCEL, "Cancel", str(incident.number)),
        ),
    ]
    return question, blocks


def read_resolve_value(value: str | None) -> tuple[int, str | None] | None:
    """The incident and the stored summary's id of a Confirm press; None when the value names
    no incident."""
    number, _, summary_id = (value or "").partition(":")
    try:
        return parse_count(number, minimum=1), summary_id or None
    except ValueError:
        return None


def suggest_resolve_blocks(incident: Incident, text: str) -> list[dict[str, Any]]:
    """A quiet incident in monitoring: the same Resolve button as the card's."""
    return [
        mrkdwn_section(text),
        actions(
            f"suggest_resolve:{incident.number}",
            button(
                RESOLVE, "Resolve", str(incident.number), style="primary", confirm=RESOLVE_DIALOG
            ),
        ),
    ]
