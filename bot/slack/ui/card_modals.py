"""The modals the card's buttons open: post an update, change severity, assign the commander,
resolve. Pure builders; the incident they act on travels in `private_metadata`, so the
submission names it even when the channel it was opened from is gone.

A text field is prefilled with what people read, not with Slack's markup: `<@U123>` in a
stored impact shows as `@Ana` (the opener looks the names up and passes them in). The
metadata keeps a digest of each prefilled text, so a field submitted untouched is known to
be unchanged and the stored text, mentions and all, is kept."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from bot.slack.ui.blocks import severity_options
from bot.slack.ui.card_buttons import COMMANDER_VIEW, RESOLVE_VIEW, SEVERITY_VIEW, UPDATE_VIEW
from bot.slack.ui.elements import context, option, plain, select_input, text_input, user_input
from incident.lifecycle import MAX_TEXT
from incident.models import Incident, Status
from incident.numbers import parse_count
from incident.text_limits import MODAL_TITLE

# `<@U123>` or `<@U123|ana>`: how a person is written in text Slack delivered.
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^<>]*))?>")
Names = Mapping[str, str]


def mentioned_users(texts: Iterable[str | None]) -> set[str]:
    """The people the opener must look up before building a modal from these texts."""
    return {m.group(1) for text in texts if text for m in MENTION.finditer(text)}


def with_names(text: str, names: Names) -> str:
    """`<@U123>` as `@Ana` where the name is known (or the mention carries one); an unknown
    person keeps the mention, which still means them when the text is submitted again."""

    def name(m: re.Match[str]) -> str:
        shown = names.get(m.group(1)) or m.group(2)
        return f"@{shown}" if shown else m.group(0)

    return MENTION.sub(name, text)


def digest(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()[:16]


def modal_metadata(
    incident: Incident, channel: str | None, prefilled: Mapping[str, str] | None = None
) -> str:
    """`prefilled` maps a block to the text its field was prefilled with (kept as a digest:
    the metadata holds 3,000 characters, a prefilled text as many)."""
    meta: dict[str, Any] = {"n": incident.number, "c": channel or incident.channel_id or ""}
    if prefilled:
        meta["p"] = {block: digest(text) for block, text in prefilled.items()}
    return json.dumps(meta)


def untouched(view: dict[str, Any], block_id: str, submitted: str) -> bool:
    """True when `submitted` is what the field was prefilled with: nothing was edited."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        return bool(submitted) and meta["p"][block_id] == digest(submitted)
    except (ValueError, KeyError, TypeError):
        return False


def read_metadata(view: dict[str, Any]) -> tuple[int, str | None] | None:
    """The incident number and channel a modal was opened for; None when it names none."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        return parse_count(meta["n"], minimum=1), meta.get("c") or None
    except (ValueError, KeyError, TypeError):
        return None


def _modal(
    callback_id: str,
    title: str,
    submit: str,
    incident: Incident,
    channel: str | None,
    blocks: list[dict[str, Any]],
    names: Names | None = None,
    prefilled: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    heading = with_names(f"Incident #{incident.number}: {incident.title}", names or {})
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": modal_metadata(incident, channel, prefilled),
        "title": plain(title, MODAL_TITLE),
        "submit": plain(submit, MODAL_TITLE),
        "close": plain("Cancel", MODAL_TITLE),
        "blocks": [context(heading, mrkdwn=False), *blocks],
    }


def _text(
    block_id: str, label: str, *, initial: str | None = None, optional: bool = False
) -> dict[str, Any]:
    return text_input(block_id, label, max_length=MAX_TEXT, initial=initial, optional=optional)


def _status_options() -> list[dict[str, Any]]:
    return [option(s.value.capitalize(), s.value) for s in Status if s is not Status.RESOLVED]


def update_modal(
    incident: Incident, channel: str | None, names: Names | None = None
) -> dict[str, Any]:
    options = _status_options()
    initial = next((o for o in options if o["value"] == incident.status), options[0])
    shown_impact = with_names(incident.impact, names or {}) if incident.impact else None
    impact = _text("impact", "Impact", initial=shown_impact, optional=True)
    # what the field really holds (text_input cuts it to fit), for `untouched`
    shown = (impact["element"].get("initial_value") or "").strip()
    return _modal(
        UPDATE_VIEW,
        "Post an update",
        "Post",
        incident,
        channel,
        [
            select_input("status", "Status", options, initial),
            _text("message", "What is happening now?"),
            impact,
            _public_checkbox(),
        ],
        names,
        {"impact": shown} if shown else None,
    )


PUBLIC_BLOCK = "public"


def _public_checkbox() -> dict[str, Any]:
    """Marks the update public: the status page and the stakeholder summaries show it."""
    return {
        "type": "input",
        "block_id": PUBLIC_BLOCK,
        "optional": True,
        "label": plain("Public", MODAL_TITLE),
        "element": {
            "type": "checkboxes",
            "action_id": "value",
            "options": [option("Show on the public status page", "public")],
        },
    }


def is_public(values: dict[str, Any]) -> bool:
    """The update form's checkbox, ticked (a forged or missing value: not public)."""
    element = (values.get(PUBLIC_BLOCK) or {}).get("value") or {}
    selected = element.get("selected_options") if isinstance(element, dict) else None
    return isinstance(selected, list) and any(
        isinstance(o, dict) and o.get("value") == "public" for o in selected
    )


def severity_modal(
    incident: Incident, channel: str | None, names: Names | None = None
) -> dict[str, Any]:
    options = severity_options()
    initial = next(o for o in options if o["value"] == incident.severity)
    return _modal(
        SEVERITY_VIEW,
        "Change severity",
        "Change",
        incident,
        channel,
        [select_input("severity", "Severity", options, initial)],
        names,
    )


def commander_modal(
    incident: Incident, channel: str | None, names: Names | None = None
) -> dict[str, Any]:
    """The commander is a person, so a users_select with `initial_user`: Slack shows the name."""
    return _modal(
        COMMANDER_VIEW,
        "Assign commander",
        "Assign",
        incident,
        channel,
        [user_input("commander", "Incident commander", incident.commander_id)],
        names,
    )


def resolve_modal(
    incident: Incident, channel: str | None, names: Names | None = None
) -> dict[str, Any]:
    return _modal(
        RESOLVE_VIEW,
        "Resolve incident",
        "Resolve",
        incident,
        channel,
        [_text("summary", "Summary: what happened and how it was fixed")],
        names,
    )
