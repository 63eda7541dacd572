"""auth.test, api.test, team.info, bots.info."""

from __future__ import annotations

from typing import Any

from warroom_sandbox.slack_emulator.args import Args
from warroom_sandbox.slack_emulator.errors import SlackError
from warroom_sandbox.slack_emulator.methods.registry import method
from warroom_sandbox.slack_emulator.shapes import team_json
from warroom_sandbox.slack_emulator.workspace import Workspace


@method("auth.test")
def auth_test(ws: Workspace, args: Args) -> dict[str, Any]:
    return {
        "ok": True,
        "url": f"https://{ws.cfg.team_domain}.slack.com/",
        "team": ws.cfg.team_name,
        "user": ws.cfg.bot_name,
        "team_id": ws.cfg.team_id,
        "user_id": ws.cfg.bot_user_id,
        "bot_id": ws.cfg.bot_id,
        "is_enterprise_install": False,
    }


@method("api.test")
def api_test(ws: Workspace, args: Args) -> dict[str, Any]:
    echoed = {k: v for k, v in args.data.items() if k != "error"}
    if "error" in args:
        raise SlackError(args.required("error"), args=echoed)
    return {"ok": True, "args": echoed}


@method("team.info")
def team_info(ws: Workspace, args: Args) -> dict[str, Any]:
    team = args.string("team")
    if team and team != ws.cfg.team_id:
        raise SlackError("team_not_found")
    return {"ok": True, "team": team_json(ws)}


@method("bots.info")
def bots_info(ws: Workspace, args: Args) -> dict[str, Any]:
    bot = args.string("bot", ws.cfg.bot_id)
    if bot != ws.cfg.bot_id:
        raise SlackError("bot_not_found")
    return {
        "ok": True,
        "bot": {
            "id": ws.cfg.bot_id,
            "deleted": False,
            "name": ws.cfg.bot_name,
            "updated": 0,
            "app_id": ws.cfg.app_id,
            "user_id": ws.cfg.bot_user_id,
            "icons": {},
        },
    }
