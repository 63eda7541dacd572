"""The smallest Block Kit pieces, shared by every builder, so a limit Slack enforces (150
characters of plain text, 3000 of a section) is applied in one place."""

from __future__ import annotations

from typing import Any


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:150] or " ", "emoji": True}


def mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def button(
    action_id: str, label: str, value: str, *, style: str | None = None, confirm: dict | None = None
) -> dict[str, Any]:
    b: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": plain(label),
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
