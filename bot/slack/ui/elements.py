"""The smallest Block Kit pieces, shared by every builder, so a limit Slack enforces (75
characters of a button or an option, 150 of a placeholder, 3000 of a section) is applied in
one place, with the one shortening rule of `incident.text_limits`."""

from __future__ import annotations

from typing import Any

from incident.text_limits import (
    BUTTON_TEXT,
    CONTEXT_TEXT,
    OPTION_TEXT,
    PLACEHOLDER_TEXT,
    SECTION_TEXT,
    clip_mrkdwn,
    clip_plain,
)


def plain(text: str, limit: int = PLACEHOLDER_TEXT) -> dict[str, Any]:
    """A plain_text object cut to `limit` (150 fits labels, hints and placeholders; pass the
    slot's own limit for buttons, options and modal titles)."""
    return {"type": "plain_text", "text": clip_plain(text, limit), "emoji": True}


def mrkdwn_section(text: str) -> dict[str, Any]:
    """A section of escaped mrkdwn, shortened (never inside an entity or mention) to 3000."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip_mrkdwn(text, SECTION_TEXT)}}


def context(text: str, *, mrkdwn: bool = True) -> dict[str, Any]:
    """A one-text context block (the small grey line)."""
    if mrkdwn:
        element = {"type": "mrkdwn", "text": clip_mrkdwn(text, CONTEXT_TEXT)}
    else:
        element = {"type": "plain_text", "text": clip_plain(text, CONTEXT_TEXT)}
    return {"type": "context", "elements": [element]}


def option(text: str, value: str, description: str | None = None) -> dict[str, Any]:
    """A menu option: text and description 75 characters; the value (150) must be short by
    construction, since shortening it would change what the submission names."""
    opt: dict[str, Any] = {"text": plain(text, OPTION_TEXT), "value": value}
    if description:
        opt["description"] = plain(description, OPTION_TEXT)
    return opt


def button(
    action_id: str, label: str, value: str, *, style: str | None = None, confirm: dict | None = None
) -> dict[str, Any]:
    b: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": plain(label, BUTTON_TEXT),
        "value": value,
    }
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    return b


def actions(block_id: str, *elements: dict[str, Any]) -> dict[str, Any]:
    """A row of buttons; Slack refuses more than 25."""
    return {"type": "actions", "block_id": block_id, "elements": list(elements[:25])}


def select_input(
    block_id: str,
    label: str,
    options: list[dict[str, Any]],
    initial: dict[str, Any],
    *,
    hint: str | None = None,
) -> dict[str, Any]:
    """A modal input whose value `view_value` reads back (action_id `value`)."""
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {
            "type": "static_select",
            "action_id": "value",
            "options": options,
            "initial_option": initial,
        },
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def user_input(block_id: str, label: str, initial_user: str | None) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {"type": "users_select", "action_id": "value", "initial_user": initial_user},
    }


def text_input(
    block_id: str,
    label: str,
    *,
    max_length: int,
    initial: str | None = None,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    """A multi-line text input; `initial` is cut to what Slack accepts."""
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = initial[:max_length]
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label),
        "element": element,
    }
    if hint:
        block["hint"] = plain(hint)
    return block
