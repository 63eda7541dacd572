"""chat.postMessage, chat.update, chat.delete, chat.postEphemeral, chat.getPermalink."""

from __future__ import annotations

import time
from typing import Any

from warroom_sandbox.slack_emulator.args import Args
from warroom_sandbox.slack_emulator.blockkit import check_message_blocks, check_message_text
from warroom_sandbox.slack_emulator.errors import SlackError
from warroom_sandbox.slack_emulator.methods.common import message_content
from warroom_sandbox.slack_emulator.methods.registry import method
from warroom_sandbox.slack_emulator.model import Ephemeral
from warroom_sandbox.slack_emulator.shapes import message_json
from warroom_sandbox.slack_emulator.workspace import Workspace


@method("chat.postMessage")
def post_message(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"), allow_names=True)
    ws.require_active(ch)
    ws.require_member(ch)
    text, blocks, attachments = message_content(args)
    metadata = args.raw("metadata")
    msg = ws.post(
        ch,
        ws.bot,
        text=text,
        blocks=blocks,
        attachments=attachments,
        thread_ts=args.string("thread_ts"),
        metadata=metadata if isinstance(metadata, dict) else None,
        reply_broadcast=args.flag("reply_broadcast"),
    )
    return {"ok": True, "channel": ch.id, "ts": msg.ts, "message": message_json(ws, msg, ch)}


@method("chat.update")
def update(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    msg = ws.message(ch, args.required("ts", "message_not_found"))
    if msg.user != ws.bot:
        raise SlackError("cant_update_message")
    if ch.is_archived:
        raise SlackError("is_inactive")
    # Slack keeps blocks/attachments that the update leaves out; [] clears them.
    has_blocks = "blocks" in args.data
    has_attachments = "attachments" in args.data
    text = args.string("text") or args.string("markdown_text")
    blocks = args.raw("blocks") or None
    attachments = args.raw("attachments") or None
    if not text and blocks is None and attachments is None:
        raise SlackError("no_text")
    check_message_text(text)
    check_message_blocks(blocks)
    msg.history.append(
        {
            "text": msg.text,
            "blocks": msg.blocks,
            "attachments": msg.attachments,
            "edited_ts": msg.edited_ts,
        }
    )
    if text is not None:
        msg.text = text
    if has_blocks:
        msg.blocks = blocks
    if has_attachments:
        msg.attachments = attachments
    msg.edited_ts = ws.clock.next()
    msg.edited_by = ws.bot
    return {
        "ok": True,
        "channel": ch.id,
        "ts": msg.ts,
        "text": msg.text,
        "message": message_json(ws, msg, ch),
    }


@method("chat.delete")
def delete(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    msg = ws.message(ch, args.required("ts", "message_not_found"))
    if msg.user != ws.bot:
        raise SlackError("cant_delete_message")
    ch.messages.remove(msg)
    ch.pins = [p for p in ch.pins if p.ts != msg.ts]
    return {"ok": True, "channel": ch.id, "ts": msg.ts}


@method("chat.postEphemeral")
def post_ephemeral(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"), allow_names=True)
    user = args.required("user")
    if user not in ws.users:
        raise SlackError("user_not_found")
    ws.require_active(ch)
    ws.require_member(ch)
    if user not in ch.members:
        raise SlackError("user_not_in_channel")
    text, blocks, _ = message_content(args)
    ts = ws.clock.next()
    ws.ephemerals.append(
        Ephemeral(
            channel=ch.id,
            user=user,
            text=text,
            blocks=blocks,
            message_ts=ts,
            thread_ts=args.string("thread_ts"),
            source="chat.postEphemeral",
            time=time.time(),
        )
    )
    return {"ok": True, "message_ts": ts}


@method("chat.getPermalink")
def get_permalink(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    msg = ws.message(ch, args.required("message_ts", "message_not_found"))
    link = f"https://{ws.cfg.team_domain}.slack.com/archives/{ch.id}/p{msg.ts.replace('.', '')}"
    if msg.thread_ts and msg.thread_ts != msg.ts:
        link += f"?thread_ts={msg.thread_ts}&cid={ch.id}"
    return {"ok": True, "channel": ch.id, "permalink": link}
