"""Slack Web API JSON shapes for the workspace records (what responses carry)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from warroom_sandbox.slack_emulator.model import Channel, Message, User, Usergroup, View
from warroom_sandbox.slack_emulator.workspace import Workspace


def channel_json(ws: Workspace, ch: Channel, num_members: bool = False) -> dict[str, Any]:
    if ch.is_im:
        return {
            "id": ch.id,
            "created": ch.created,
            "is_im": True,
            "is_org_shared": False,
            "user": ch.im_user,
            "is_user_deleted": False,
            "priority": 0,
        }
    out: dict[str, Any] = {
        "id": ch.id,
        "name": ch.name,
        "is_channel": not ch.is_mpim,
        "is_group": False,
        "is_im": False,
        "is_mpim": ch.is_mpim,
        "is_private": ch.is_private,
        "created": ch.created,
        "is_archived": ch.is_archived,
        "is_general": ch.is_general,
        "unlinked": 0,
        "name_normalized": ch.name,
        "is_shared": False,
        "is_org_shared": False,
        "is_pending_ext_shared": False,
        "pending_shared": [],
        "context_team_id": ws.cfg.team_id,
        "updated": ch.created * 1000,
        "parent_conversation": None,
        "creator": ch.creator,
        "is_ext_shared": False,
        "shared_team_ids": [ws.cfg.team_id],
        "pending_connected_team_ids": [],
        "is_member": ws.bot in ch.members,
        "topic": {
            "value": ch.topic.value,
            "creator": ch.topic.creator,
            "last_set": ch.topic.last_set,
        },
        "purpose": {
            "value": ch.purpose.value,
            "creator": ch.purpose.creator,
            "last_set": ch.purpose.last_set,
        },
        "previous_names": list(ch.previous_names),
    }
    if num_members:
        out["num_members"] = len(ch.members)
    return out


def message_json(ws: Workspace, msg: Message, ch: Channel | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "message", "user": msg.user, "text": msg.text, "ts": msg.ts}
    if msg.subtype:
        out["subtype"] = msg.subtype
    out["team"] = ws.cfg.team_id
    if msg.bot_id:
        out["bot_id"] = msg.bot_id
        out["app_id"] = msg.app_id
        out["bot_profile"] = {
            "id": msg.bot_id,
            "app_id": msg.app_id,
            "name": ws.cfg.bot_name,
            "deleted": False,
            "team_id": ws.cfg.team_id,
        }
    if msg.blocks is not None:
        out["blocks"] = msg.blocks
    if msg.attachments is not None:
        out["attachments"] = msg.attachments
    if msg.metadata is not None:
        out["metadata"] = msg.metadata
    if msg.thread_ts:
        out["thread_ts"] = msg.thread_ts
    if msg.thread_ts == msg.ts:
        out["reply_count"] = msg.reply_count
        out["reply_users_count"] = len(msg.reply_users)
        out["reply_users"] = list(msg.reply_users)
        out["latest_reply"] = msg.latest_reply
    elif msg.thread_ts and ch is not None:
        parent = ch.message(msg.thread_ts)
        if parent is not None:
            out["parent_user_id"] = parent.user
    if msg.edited_ts:
        out["edited"] = {"user": msg.edited_by, "ts": msg.edited_ts}
    if msg.reactions:
        out["reactions"] = [
            {"name": name, "users": list(users), "count": len(users)}
            for name, users in msg.reactions.items()
        ]
    if ch is not None and ch.pin(msg.ts):
        out["pinned_to"] = [ch.id]
    return out


def _tz_fields(tz: str) -> tuple[str, int]:
    try:
        now = dt.datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return tz, 0
    offset = now.utcoffset() or dt.timedelta(0)
    return now.tzname() or tz, int(offset.total_seconds())


def user_json(ws: Workspace, user: User) -> dict[str, Any]:
    tz_label, tz_offset = _tz_fields(user.tz)
    profile: dict[str, Any] = {
        "title": user.title,
        "phone": "",
        "skype": "",
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "fields": None,
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "avatar_hash": "g000000000",
        "email": user.email,
        "first_name": user.real_name.split(" ")[0] if user.real_name else "",
        "last_name": " ".join(user.real_name.split(" ")[1:]),
        "image_24": "https://secure.gravatar.com/avatar/0.jpg",
        "image_48": "https://secure.gravatar.com/avatar/0.jpg",
        "image_72": "https://secure.gravatar.com/avatar/0.jpg",
        "team": ws.cfg.team_id,
    }
    if user.is_bot:
        profile["bot_id"] = user.bot_id
        profile["api_app_id"] = ws.cfg.app_id
        profile.pop("email")
    return {
        "id": user.id,
        "team_id": user.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "color": "9f69e7",
        "real_name": user.real_name,
        "tz": user.tz,
        "tz_label": tz_label,
        "tz_offset": tz_offset,
        "profile": profile,
        "is_admin": user.is_admin,
        "is_owner": user.is_owner,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": user.updated,
        "is_email_confirmed": not user.is_bot,
        "who_can_share_contact_card": "EVERYONE",
    }


def usergroup_json(ws: Workspace, ug: Usergroup, include_users: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": ug.id,
        "team_id": ws.cfg.team_id,
        "is_usergroup": True,
        "is_subteam": True,
        "name": ug.name,
        "description": ug.description,
        "handle": ug.handle,
        "is_external": False,
        "date_create": ug.created,
        "date_update": ug.created,
        "date_delete": 0,
        "auto_type": None,
        "auto_provision": False,
        "enterprise_subteam_id": "",
        "created_by": ug.created_by,
        "updated_by": ug.created_by,
        "deleted_by": None,
        "prefs": {"channels": [], "groups": []},
        "user_count": len(ug.users),
        "channel_count": 0,
    }
    if include_users:
        out["users"] = list(ug.users)
    return out


def view_json(ws: Workspace, view: View) -> dict[str, Any]:
    p = view.payload
    return {
        "id": view.id,
        "team_id": view.team_id,
        "type": view.type,
        "title": p.get("title"),
        "submit": p.get("submit"),
        "close": p.get("close"),
        "blocks": p.get("blocks") or [],
        "private_metadata": p.get("private_metadata") or "",
        "callback_id": p.get("callback_id") or "",
        "external_id": view.external_id,
        "state": {"values": {}},
        "hash": view.hash,
        "clear_on_close": bool(p.get("clear_on_close", False)),
        "notify_on_close": bool(p.get("notify_on_close", False)),
        "root_view_id": view.root_view_id,
        "previous_view_id": view.previous_view_id,
        "app_id": ws.cfg.app_id,
        "app_installed_team_id": ws.cfg.team_id,
        "bot_id": ws.cfg.bot_id,
    }


def team_json(ws: Workspace) -> dict[str, Any]:
    return {
        "id": ws.cfg.team_id,
        "name": ws.cfg.team_name,
        "url": f"https://{ws.cfg.team_domain}.slack.com/",
        "domain": ws.cfg.team_domain,
        "email_domain": "example.com",
        "icon": {"image_default": True, "image_34": "https://a.slack-edge.com/0.png"},
        "avatar_base_url": "https://ca.slack-edge.com/",
        "is_verified": False,
    }
