"""What a POST to a response_url does, as Bolt's `respond()` uses it.

Slack allows 5 uses within 30 minutes; `in_channel` answers become channel
messages (no channel membership needed), the default ephemeral ones are only
shown to the user, and `replace_original`/`delete_original` act on the message
the interaction came from.
"""

from __future__ import annotations

import time
from typing import Any

from warroom_sandbox.slack_emulator.blockkit import check_message_blocks, check_message_text
from warroom_sandbox.slack_emulator.errors import SlackError
from warroom_sandbox.slack_emulator.model import Ephemeral, ResponseRecord
from warroom_sandbox.slack_emulator.workspace import Workspace

MAX_USES = 5
MAX_AGE = 30 * 60


def handle_response(ws: Workspace, url_id: str, body: Any) -> tuple[int, str]:
    """Apply one response_url POST; (HTTP status, text body) like Slack's webhooks."""
    ru = ws.response_urls.get(url_id)
    status, text = _apply(ws, url_id, body)
    ws.responses.append(
        ResponseRecord(
            url_id=url_id,
            channel_id=ru.channel_id if ru else None,
            user_id=ru.user_id if ru else None,
            body=body if isinstance(body, dict) else {"_raw": body},
            status=status,
            time=time.time(),
        )
    )
    return status, text


def _apply(ws: Workspace, url_id: str, body: Any) -> tuple[int, str]:
    ru = ws.response_urls.get(url_id)
    if ru is None or time.time() - ru.created > MAX_AGE:
        return 404, "expired_url"
    if ru.uses >= MAX_USES:
        return 404, "used_url"
    if not isinstance(body, dict):
        return 400, "invalid_payload"
    ru.uses += 1
    ch = ws.channels.get(ru.channel_id or "")
    original = ch.message(ru.message_ts) if ch and ru.message_ts else None

    if _flag(body.get("delete_original")):
        if ch is not None and original is not None:
            ch.messages.remove(original)
            ch.pins = [p for p in ch.pins if p.ts != original.ts]
        return 200, "ok"

    text = str(body.get("text") or "")
    blocks = body.get("blocks") or None
    if not text and blocks is None and not body.get("attachments"):
        return 400, "no_text"
    try:
        check_message_text(text)
        check_message_blocks(blocks)
    except SlackError as exc:
        return 400, exc.error

    if _flag(body.get("replace_original")) and ch is not None and original is not None:
        original.history.append(
            {
                "text": original.text,
                "blocks": original.blocks,
                "attachments": original.attachments,
                "edited_ts": original.edited_ts,
            }
        )
        original.text = text
        original.blocks = blocks
        original.edited_ts = ws.clock.next()
        original.edited_by = ws.bot
        return 200, "ok"

    if ch is None:
        return 404, "channel_not_found"
    if body.get("response_type") == "in_channel":
        if ch.is_archived:
            return 410, "channel_is_archived"
        ws.post(ch, ws.bot, text=text, blocks=blocks, thread_ts=body.get("thread_ts"))
        return 200, "ok"
    ws.ephemerals.append(
        Ephemeral(
            channel=ch.id,
            user=ru.user_id or "",
            text=text,
            blocks=blocks,
            message_ts=ws.clock.next(),
            thread_ts=body.get("thread_ts"),
            source="response_url",
            time=time.time(),
        )
    )
    return 200, "ok"


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)
