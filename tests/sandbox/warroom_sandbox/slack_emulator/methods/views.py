"""views.open, views.push, views.update, views.publish.

trigger_ids the emulator issued (through the driver) behave like Slack's: they
work once and expire after `trigger_ttl` seconds, so a handler that opens its
modal too late fails here the way it would in production.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from warroom_sandbox.slack_emulator.args import Args
from warroom_sandbox.slack_emulator.blockkit import check_view
from warroom_sandbox.slack_emulator.errors import SlackError, invalid_arguments
from warroom_sandbox.slack_emulator.methods.registry import method
from warroom_sandbox.slack_emulator.model import Trigger, View
from warroom_sandbox.slack_emulator.shapes import view_json
from warroom_sandbox.slack_emulator.workspace import Workspace

MAX_STACK = 3


def _new_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


def _view_arg(args: Args, allowed: set[str]) -> dict[str, Any]:
    if "view" not in args:
        raise invalid_arguments("missing required field: view")
    view = check_view(args.raw("view"))
    if view.get("type") not in allowed:
        raise invalid_arguments(
            f"must be one of {', '.join(sorted(allowed))} [json-pointer:/view/type]"
        )
    return view


def _check_trigger(ws: Workspace, args: Args) -> Trigger | None:
    trigger_id = args.string("trigger_id")
    if not trigger_id:
        raise invalid_arguments("missing required field: trigger_id")
    trig = ws.triggers.get(trigger_id)
    if trig is None:
        if ws.cfg.strict_triggers:
            raise SlackError(
                "invalid_arguments", response_metadata={"messages": ["invalid `trigger_id`"]}
            )
        return None
    if trig.used:
        raise SlackError("exchanged_trigger_id")
    if time.time() - trig.issued_at > ws.cfg.trigger_ttl:
        raise SlackError("expired_trigger_id")
    return trig


def _external_id(ws: Workspace, view: dict[str, Any], current: View | None = None) -> str:
    ext = str(view.get("external_id") or "")
    if ext:
        for other in ws.views.values():
            if other.external_id == ext and other is not current:
                raise SlackError("duplicate_external_id")
    return ext


def _create(
    ws: Workspace,
    payload: dict[str, Any],
    user_id: str | None,
    opened_by: str,
    root: View | None = None,
) -> View:
    vid = ws.ids.new("V")
    view = View(
        id=vid,
        type=str(payload.get("type")),
        team_id=ws.cfg.team_id,
        payload=payload,
        hash=_new_hash(),
        root_view_id=root.root_view_id if root else vid,
        previous_view_id=root.id if root else None,
        external_id=_external_id(ws, payload),
        user_id=user_id,
        opened_by=opened_by,
        created=time.time(),
    )
    ws.views[vid] = view
    return view


@method("views.open")
def open_(ws: Workspace, args: Args) -> dict[str, Any]:
    trig = _check_trigger(ws, args)
    payload = _view_arg(args, {"modal"})
    view = _create(ws, payload, trig.user_id if trig else None, "views.open")
    if trig:
        trig.used = True
    return {"ok": True, "view": view_json(ws, view)}


@method("views.push")
def push(ws: Workspace, args: Args) -> dict[str, Any]:
    trig = _check_trigger(ws, args)
    payload = _view_arg(args, {"modal"})
    user_id = trig.user_id if trig else None
    # push on top of the newest modal this user has open
    stack_top = next(
        (
            v
            for v in reversed(ws.views.values())
            if v.type == "modal" and (user_id is None or v.user_id == user_id)
        ),
        None,
    )
    if stack_top is not None:
        depth = sum(1 for v in ws.views.values() if v.root_view_id == stack_top.root_view_id)
        if depth >= MAX_STACK:
            raise SlackError("push_limit_reached")
    view = _create(ws, payload, user_id, "views.push", root=stack_top)
    if trig:
        trig.used = True
    return {"ok": True, "view": view_json(ws, view)}


@method("views.update")
def update(ws: Workspace, args: Args) -> dict[str, Any]:
    view_id = args.string("view_id")
    external_id = args.string("external_id")
    if not view_id and not external_id:
        raise invalid_arguments("missing required field: view_id or external_id")
    view = ws.views.get(view_id or "")
    if view is None and external_id:
        view = next((v for v in ws.views.values() if v.external_id == external_id), None)
    if view is None:
        raise SlackError("not_found")
    expected = args.string("hash")
    if expected and expected != view.hash:
        raise SlackError("hash_conflict")
    payload = _view_arg(args, {view.type})
    ext = _external_id(ws, payload, current=view) or view.external_id
    view.history.append(view.payload)
    view.payload = payload
    view.external_id = ext
    view.hash = _new_hash()
    return {"ok": True, "view": view_json(ws, view)}


@method("views.publish")
def publish(ws: Workspace, args: Args) -> dict[str, Any]:
    user_id = args.string("user_id")
    if not user_id:
        raise invalid_arguments("missing required field: user_id")
    if user_id not in ws.users:
        raise invalid_arguments("invalid `user_id`")
    payload = _view_arg(args, {"home"})
    current = ws.views.get(ws.home_views.get(user_id, ""))
    if current is None:
        view = _create(ws, payload, user_id, "views.publish")
        ws.home_views[user_id] = view.id
    else:
        expected = args.string("hash")
        if expected and expected != current.hash:
            raise SlackError("hash_conflict")
        current.history.append(current.payload)
        current.payload = payload
        current.hash = _new_hash()
        view = current
    return {"ok": True, "view": view_json(ws, view)}
