"""The emulator's HTTP face: `/api/<method>` like slack.com, plus `/_emulator/*`
control routes so another process (sandbox, multi-process tests) can seed,
inject faults and read the state.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from warroom_sandbox.slack_emulator.args import decode_json_args, parse_body
from warroom_sandbox.slack_emulator.errors import SlackError
from warroom_sandbox.slack_emulator.faults import Fault
from warroom_sandbox.slack_emulator.model import to_dict

if TYPE_CHECKING:
    from warroom_sandbox.slack_emulator.emulator import SlackEmulator


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return None


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _seed_user(emu: SlackEmulator, data: dict[str, Any], request: Request) -> dict[str, Any]:
    user_id = emu.add_user(
        str(data["name"]),
        data.get("real_name"),
        bool(data.get("is_admin", False)),
        str(data.get("tz", "Europe/Paris")),
        email=data.get("email"),
        title=str(data.get("title", "")),
        is_bot=bool(data.get("is_bot", False)),
    )
    return {"id": user_id}


def _seed_channel(emu: SlackEmulator, data: dict[str, Any], request: Request) -> dict[str, Any]:
    members = tuple(data.get("members", ()))
    return {"id": emu.add_channel(str(data["name"]), members, bool(data.get("is_private", False)))}


def _seed_usergroup(emu: SlackEmulator, data: dict[str, Any], request: Request) -> dict[str, Any]:
    members = tuple(data.get("members", ()))
    return {"id": emu.add_usergroup(str(data["handle"]), members, str(data.get("name", "")))}


def _seed_message(emu: SlackEmulator, data: dict[str, Any], request: Request) -> dict[str, Any]:
    ts = emu.add_message(
        str(data["channel"]),
        str(data["user"]),
        str(data.get("text", "")),
        data.get("blocks"),
        data.get("thread_ts"),
    )
    return {"ts": ts}


def _seed_member(emu: SlackEmulator, data: dict[str, Any], request: Request) -> dict[str, Any]:
    emu.add_member(str(data["channel"]), str(data["user"]))
    return {}


def _new_response_url(emu: SlackEmulator, data: dict[str, Any], request: Request) -> dict[str, Any]:
    url = emu.new_response_url(
        data.get("channel_id"),
        data.get("user_id"),
        data.get("message_ts"),
        base_url=emu.url or str(request.base_url),
    )
    return {"url": url}


def _new_trigger(emu: SlackEmulator, data: dict[str, Any], request: Request) -> dict[str, Any]:
    return {"trigger_id": emu.issue_trigger_id(data.get("user_id"))}


Seeder = Callable[["SlackEmulator", dict[str, Any], Request], dict[str, Any]]
SEEDERS: dict[str, Seeder] = {
    "users": _seed_user,
    "channels": _seed_channel,
    "usergroups": _seed_usergroup,
    "messages": _seed_message,
    "members": _seed_member,
    "response_urls": _new_response_url,
    "triggers": _new_trigger,
}


def build_app(emu: SlackEmulator) -> Starlette:
    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        args: dict[str, Any] = dict(request.query_params)
        try:
            body = await request.body()
            args.update(parse_body(body, request.headers.get("content-type", "")))
            args = decode_json_args(args)
        except SlackError as err:
            return JSONResponse(err.body(), status_code=err.status)
        # the header wins over a `token` argument, as on slack.com
        token = _bearer(request) or args.get("token")
        args.pop("token", None)
        fault = emu.faults.take(method)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        call = emu.call(method, args, token if isinstance(token, str) else None, fault)
        return JSONResponse(call.response, status_code=call.status, headers=call.headers)

    async def response_url(request: Request) -> Response:
        body = await request.body()
        try:
            payload: Any = json.loads(body) if body else {}
        except ValueError:
            payload = body.decode("utf-8", "replace")
        status, text = emu.respond(request.path_params["url_id"], payload)
        return PlainTextResponse(text, status_code=status)

    async def state(request: Request) -> Response:
        calls = request.query_params.get("calls", "1") not in ("0", "false")
        return JSONResponse(emu.snapshot(include_calls=calls))

    async def calls(request: Request) -> Response:
        method = request.query_params.get("method")
        return JSONResponse({"calls": [to_dict(c) for c in emu.calls(method)]})

    async def message(request: Request) -> Response:
        q = request.query_params
        found = emu.message_json(q.get("channel", ""), q.get("ts", ""))
        return JSONResponse({"ok": found is not None, "message": found})

    async def view(request: Request) -> Response:
        found = emu.view_json(request.query_params.get("id", ""))
        return JSONResponse({"ok": found is not None, "view": found})

    async def reset(request: Request) -> Response:
        emu.reset()
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            emu.clear_faults()
            return JSONResponse({"ok": True})
        if request.method == "GET":
            return JSONResponse({"faults": [f.to_dict() for f in emu.faults.armed()]})
        try:
            fault = emu.faults.add(Fault.from_dict(await _json(request)))
        except (ValueError, TypeError) as err:
            return JSONResponse({"ok": False, "error": str(err)}, status_code=400)
        return JSONResponse({"ok": True, "fault": fault.to_dict()})

    async def seed(request: Request) -> Response:
        seeder = SEEDERS.get(request.path_params["kind"])
        if seeder is None:
            return JSONResponse({"ok": False, "error": "unknown control route"}, status_code=404)
        try:
            out = seeder(emu, await _json(request), request)
        except (KeyError, ValueError, TypeError) as err:
            return JSONResponse({"ok": False, "error": f"bad request: {err!r}"}, status_code=400)
        return JSONResponse({"ok": True, **out})

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/api/{method:str}", api, methods=["GET", "POST"]),
            Route("/_emulator/response/{url_id:str}", response_url, methods=["POST"]),
            Route("/_emulator/state", state, methods=["GET"]),
            Route("/_emulator/calls", calls, methods=["GET"]),
            Route("/_emulator/message", message, methods=["GET"]),
            Route("/_emulator/view", view, methods=["GET"]),
            Route("/_emulator/reset", reset, methods=["POST"]),
            Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
            Route("/_emulator/health", health, methods=["GET"]),
            Route("/_emulator/{kind:str}", seed, methods=["POST"]),
        ]
    )
