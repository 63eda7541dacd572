"""Slack messages as readable terminal text, for the sandbox console."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(r"<([^<>]+)>")


def render_mrkdwn(
    text: str, user_name: Callable[[str], str], channel_name: Callable[[str], str]
) -> str:
    def token(m: re.Match[str]) -> str:
        body = m.group(1)
        target, _, label = body.partition("|")
        if target.startswith("@"):
            return "@" + (label or user_name(target[1:]))
        if target.startswith("#"):
            return "#" + (label or channel_name(target[1:]))
        if target.startswith("!date^"):
            return label or target
        if target.startswith("!subteam^"):
            return label or "@group"
        if target.startswith("!"):
            return "@" + target[1:]
        return f"{label} ({target})" if label else target

    out = _TOKEN.sub(token, text)
    return out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: dict[str, Any] | None, fmt: Callable[[str], str]) -> str:
    if not obj:
        return ""
    return fmt(obj.get("text", "")) if obj.get("type") == "mrkdwn" else obj.get("text", "")


def render_blocks(blocks: list[dict[str, Any]], fmt: Callable[[str], str]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"┃ {_text(block.get('text'), fmt)}")
        elif kind == "section":
            if block.get("text"):
                lines.extend("┃ " + line for line in _text(block["text"], fmt).splitlines())
            for f in block.get("fields", []):
                lines.append("┃ " + " ".join(_text(f, fmt).splitlines()))
        elif kind == "context":
            lines.append("┃ " + " · ".join(_text(e, fmt) for e in block.get("elements", [])))
        elif kind == "actions":
            labels = [
                f"[ {_text(el.get('text') or el.get('placeholder'), fmt) or el.get('action_id')} ]"
                for el in block.get("elements", [])
            ]
            lines.append("┃ " + " ".join(labels))
        elif kind == "divider":
            lines.append("┃ ───")
    return lines


def actions_in(blocks: list[dict[str, Any]] | None) -> list[tuple[str, dict[str, Any]]]:
    """(block_id, element) for every interactive element, to press by label."""
    found = []
    for block in blocks or []:
        if block.get("type") == "actions":
            for el in block.get("elements", []):
                found.append((block.get("block_id", ""), el))
        elif block.get("type") == "section" and block.get("accessory"):
            found.append((block.get("block_id", ""), block["accessory"]))
    return found
