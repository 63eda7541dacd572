"""The modals the card's buttons open: post an update, change severity, assign the commander,
resolve. Pure builders; the incident they act on travels in `private_metadata`, so the
submission names it even when the channel it was opened from is gone."""

from __future__ import annotations

import json
from typing import Any

from bot.slack.ui.blocks import severity_options
from bot.slack.ui.card_buttons import COMMANDER_VIEW, RESOLVE_VIEW, SEVERITY_VIEW, UPDATE_VIEW
from bot.slack.ui.elements import context, option, plain, select_input, text_input, user_input
from incident.lifecycle import MAX_TEXT
from incident.models import Incident, Status
from incident.text_limits import MODAL_TITLE


def modal_metadata(incident: Incident, channel: str | None) -> str:
    return json.dumps({"n": incident.number, "c": channel or incident.channel_id or ""})


def read_metadata(view: dict[str, Any]) -> tuple[int, str | None] | None:
    """The incident number and channel a modal was opened for; None when it names none."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        return int(meta["n"]), meta.get("c") or None
    except (ValueError, KeyError, TypeError):
        return None


def _modal(
    callback_id: str,
    title: str,
    submit: str,
    incident: Incident,
    channel: str | None,
    blocks: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": modal_metadata(incident, channel),
        "title": plain(title, MODAL_TITLE),
        "submit": plain(submit, MODAL_TITLE),
        "close": plain("Cancel", MODAL_TITLE),
        "blocks": [
            context(f"Incident #{incident.number}: {incident.title}", mrkdwn=False),
            *blocks,
        ],
    }


def _text(
    block_id: str, label: str, *, initial: str | None = None, optional: bool = False
) -> dict[str, Any]:
    return text_input(block_id, label, max_length=MAX_TEXT, initial=initial, optional=optional)


def _status_options() -> list[dict[str, Any]]:
    return [option(s.value.capitalize(), s.value) for s in Status if s is not Status.RESOLVED]


def update_modal(incident: Incident, channel: str | None) -> dict[str, Any]:
    options = _status_options()
    initial = next((o for o in options if o["value"] == incident.status), options[0])
    return _modal(
        UPDATE_VIEW,
        "Post an update",
        "Post",
        incident,
        channel,
        [
            select_input("status", "Status", options, initial),
            _text("message", "What is happening now?"),
            _text("impact", "Impact", initial=incident.impact, optional=True),
        ],
    )


def severity_modal(incident: Incident, channel: str | None) -> dict[str, Any]:
    options = severity_options()
    initial = next(o for o in options if o["value"] == incident.severity)
    return _modal(
        SEVERITY_VIEW,
        "Change severity",
        "Change",
        incident,
        channel,
        [select_input("severity", "Severity", options, initial)],
    )


def commander_modal(incident: Incident, channel: str | None) -> dict[str, Any]:
    return _modal(
        COMMANDER_VIEW,
        "Assign commander",
        "Assign",
        incident,
        channel,
        [user_input("commander", "Incident commander", incident.commander_id)],
    )


def resolve_modal(incident: Incident, channel: str | None) -> dict[str, Any]:
    return _modal(
        RESOLVE_VIEW,
        "Resolve incident",
        "Resolve",
        incident,
        channel,
        [_text("summary", "Summary: what happened and how it was fixed")],
    )
