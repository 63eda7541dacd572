"""pins.add, pins.remove, pins.list."""

from __future__ import annotations

import time
from typing import Any

from warroom_sandbox.slack_emulator.args import Args
from warroom_sandbox.slack_emulator.errors import SlackError
from warroom_sandbox.slack_emulator.methods.registry import method
from warroom_sandbox.slack_emulator.model import Pin
from warroom_sandbox.slack_emulator.shapes import message_json
from warroom_sandbox.slack_emulator.workspace import Workspace


@method("pins.add")
def add(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    ts = args.required("timestamp", "no_item_specified")
    ws.require_member(ch)
    msg = ws.message(ch, ts)
    if msg.is_system:
        raise SlackError("not_pinnable")
    if ch.pin(ts) is not None:
        raise SlackError("already_pinned")
    ch.pins.append(Pin(ts=ts, created=int(time.time()), created_by=ws.bot))
    return {"ok": True}


@method("pins.remove")
def remove(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    ts = args.required("timestamp", "no_item_specified")
    ws.require_member(ch)
    ws.message(ch, ts)
    pin = ch.pin(ts)
    if pin is None:
        raise SlackError("no_pin")
    ch.pins.remove(pin)
    return {"ok": True}


@method("pins.list")
def list_(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    items = []
    for pin in reversed(ch.pins):  # newest pin first, like Slack
        msg = ch.message(pin.ts)
        if msg is None:
            continue
        items.append(
            {
                "type": "message",
                "created": pin.created,
                "created_by": pin.created_by,
                "channel": ch.id,
                "message": {
                    **message_json(ws, msg, ch),
                    "permalink": f"https://{ws.cfg.team_domain}.slack.com/archives/"
                    f"{ch.id}/p{msg.ts.replace('.', '')}",
                },
            }
        )
    return {"ok": True, "items": items}
