"""users.*, usergroups.*."""

from __future__ import annotations

from typing import Any

from warroom_sandbox.slack_emulator.args import Args
from warroom_sandbox.slack_emulator.errors import SlackError
from warroom_sandbox.slack_emulator.methods.common import paginate
from warroom_sandbox.slack_emulator.methods.registry import method
from warroom_sandbox.slack_emulator.model import User
from warroom_sandbox.slack_emulator.shapes import user_json, usergroup_json
from warroom_sandbox.slack_emulator.workspace import Workspace


def _user(ws: Workspace, user_id: str | None) -> User:
    user = ws.users.get(user_id or "")
    if user is None:
        raise SlackError("user_not_found")
    return user


@method("users.info")
def info(ws: Workspace, args: Args) -> dict[str, Any]:
    user = _user(ws, args.string("user"))
    body = user_json(ws, user)
    if args.flag("include_locale"):
        body["locale"] = "en-US"
    return {"ok": True, "user": body}


@method("users.list")
def list_(ws: Workspace, args: Args) -> dict[str, Any]:
    users = list(ws.users.values())
    if "limit" not in args and "cursor" not in args:
        page, cursor = users, ""  # no limit: Slack answers with everyone
    else:
        page, cursor = paginate(users, args, default_limit=200)
    return {
        "ok": True,
        "members": [user_json(ws, u) for u in page],
        "cache_ts": 0,
        "response_metadata": {"next_cursor": cursor},
    }


@method("users.lookupByEmail")
def lookup_by_email(ws: Workspace, args: Args) -> dict[str, Any]:
    email = args.required("email", "users_not_found").lower()
    for user in ws.users.values():
        if user.email.lower() == email:
            return {"ok": True, "user": user_json(ws, user)}
    raise SlackError("users_not_found")


@method("users.profile.get")
def profile_get(ws: Workspace, args: Args) -> dict[str, Any]:
    user = _user(ws, args.string("user", ws.bot))
    return {"ok": True, "profile": user_json(ws, user)["profile"]}


@method("usergroups.list")
def usergroups_list(ws: Workspace, args: Args) -> dict[str, Any]:
    include_users = args.flag("include_users")
    return {
        "ok": True,
        "usergroups": [usergroup_json(ws, ug, include_users) for ug in ws.usergroups.values()],
    }


@method("usergroups.users.list")
def usergroups_users_list(ws: Workspace, args: Args) -> dict[str, Any]:
    ug = ws.usergroups.get(args.required("usergroup", "no_such_subteam"))
    if ug is None:
        raise SlackError("no_such_subteam")
    return {"ok": True, "users": list(ug.users)}


@method("usergroups.users.update")
def usergroups_users_update(ws: Workspace, args: Args) -> dict[str, Any]:
    ug = ws.usergroups.get(args.required("usergroup", "no_such_subteam"))
    if ug is None:
        raise SlackError("no_such_subteam")
    users = args.id_list("users")
    if not users:
        raise SlackError("no_users_provided")
    for uid in users:
        _user(ws, uid)
    ug.users = list(dict.fromkeys(users))
    return {"ok": True, "usergroup": usergroup_json(ws, ug, include_users=True)}
