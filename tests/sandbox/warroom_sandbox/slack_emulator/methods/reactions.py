"""reactions.add, reactions.remove, reactions.get."""

from __future__ import annotations

import re
from typing import Any

from warroom_sandbox.slack_emulator.args import Args
from warroom_sandbox.slack_emulator.errors import SlackError
from warroom_sandbox.slack_emulator.methods.registry import method
from warroom_sandbox.slack_emulator.model import Channel, Message
from warroom_sandbox.slack_emulator.shapes import message_json
from warroom_sandbox.slack_emulator.workspace import Workspace

_EMOJI = re.compile(r"[a-z0-9_+'\-]+(::skin-tone-[2-6])?")


def _target(ws: Workspace, args: Args) -> tuple[Channel, Message]:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    ts = args.required("timestamp", "no_item_specified")
    ws.require_member(ch)
    return ch, ws.message(ch, ts)


def _emoji(args: Args) -> str:
    name = (args.string("name") or "").strip(":")
    if not name or not _EMOJI.fullmatch(name):
        raise SlackError("invalid_name")
    return name


@method("reactions.add")
def add(ws: Workspace, args: Args) -> dict[str, Any]:
    name = _emoji(args)
    _, msg = _target(ws, args)
    users = msg.reactions.setdefault(name, [])
    if ws.bot in users:
        raise SlackError("already_reacted")
    users.append(ws.bot)
    return {"ok": True}


@method("reactions.remove")
def remove(ws: Workspace, args: Args) -> dict[str, Any]:
    name = _emoji(args)
    _, msg = _target(ws, args)
    users = msg.reactions.get(name, [])
    if ws.bot not in users:
        raise SlackError("no_reaction")
    users.remove(ws.bot)
    if not users:
        del msg.reactions[name]
    return {"ok": True}


@method("reactions.get")
def get(ws: Workspace, args: Args) -> dict[str, Any]:
    ch, msg = _target(ws, args)
    return {"ok": True, "type": "message", "channel": ch.id, "message": message_json(ws, msg, ch)}
