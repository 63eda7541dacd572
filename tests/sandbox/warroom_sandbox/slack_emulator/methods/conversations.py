"""conversations.*: channel lifecycle, membership, topics, listing and history."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from warroom_sandbox.slack_emulator.args import Args
from warroom_sandbox.slack_emulator.errors import SlackError
from warroom_sandbox.slack_emulator.methods.common import paginate
from warroom_sandbox.slack_emulator.methods.registry import method
from warroom_sandbox.slack_emulator.model import Channel, Message
from warroom_sandbox.slack_emulator.shapes import channel_json, message_json
from warroom_sandbox.slack_emulator.workspace import Workspace

MAX_NAME = 80
MAX_TOPIC = 250
# names Slack keeps for itself (mentions, URLs)
RESERVED_NAMES = frozenset(
    {
        "all",
        "archive",
        "archived",
        "archives",
        "channel",
        "channels",
        "create",
        "delete",
        "deleted-channel",
        "edit",
        "everyone",
        "group",
        "groups",
        "here",
        "me",
        "ms",
        "slack",
        "slackbot",
        "today",
        "you",
    }
)
_ALLOWED = re.compile(r"[a-z0-9_-]+")
_PUNCTUATION_ONLY = re.compile(r"[-_]+")
CONVERSATION_TYPES = ("public_channel", "private_channel", "mpim", "im")


def validate_name(ws: Workspace, name: str | None, current: Channel | None = None) -> str:
    """Slack's channel-name rules, with its error names, in the order it applies them."""
    if not name:
        raise SlackError("invalid_name_required")
    if len(name) > MAX_NAME:
        raise SlackError("invalid_name_maxlength")
    if not _ALLOWED.fullmatch(name):
        raise SlackError("invalid_name_specials")
    if _PUNCTUATION_ONLY.fullmatch(name):
        raise SlackError("invalid_name_punctuation")
    if name in RESERVED_NAMES:
        raise SlackError("invalid_name")
    existing = ws.channel_by_name(name)
    if existing is not None and existing is not current:
        # archived channels keep their name reserved, as in Slack
        raise SlackError("name_taken")
    return name


def _regular_channel(ws: Workspace, args: Args) -> Channel:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    if ch.is_im or ch.is_mpim:
        raise SlackError("method_not_supported_for_channel_type")
    return ch


@method("conversations.create")
def create(ws: Workspace, args: Args) -> dict[str, Any]:
    name = validate_name(ws, args.string("name"))
    ch = ws.add_channel(name, is_private=args.flag("is_private"), creator=ws.bot)
    ws.join(ch, ws.bot)
    return {"ok": True, "channel": channel_json(ws, ch)}


@method("conversations.invite")
def invite(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = _regular_channel(ws, args)
    users = list(dict.fromkeys(args.id_list("users")))
    if not users:
        raise SlackError("no_user")
    ws.require_active(ch)
    ws.require_member(ch)
    errors: list[dict[str, Any]] = []
    valid: list[str] = []
    for uid in users:
        user = ws.users.get(uid)
        if uid == ws.bot:
            errors.append({"user": uid, "ok": False, "error": "cant_invite_self"})
        elif user is None or user.deleted:
            errors.append({"user": uid, "ok": False, "error": "user_not_found"})
        elif uid in ch.members:
            errors.append({"user": uid, "ok": False, "error": "already_in_channel"})
        else:
            valid.append(uid)
    # One bad id fails the whole call unless force=true (then the rest go in).
    if errors and not args.flag("force"):
        raise SlackError(errors[0]["error"], errors=errors)
    for uid in valid:
        ws.join(ch, uid)
    if errors:
        raise SlackError(errors[0]["error"], errors=errors)
    return {"ok": True, "channel": channel_json(ws, ch)}


@method("conversations.kick")
def kick(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = _regular_channel(ws, args)
    user = args.required("user", "user_not_found")
    if user == ws.bot:
        raise SlackError("cant_kick_self")
    if ch.is_general:
        raise SlackError("cant_kick_from_general")
    ws.require_member(ch)
    if user not in ch.members:
        raise SlackError("not_in_channel")
    ch.members.remove(user)
    return {"ok": True}


@method("conversations.join")
def join(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = _regular_channel(ws, args)
    if ch.is_private:
        raise SlackError("method_not_supported_for_channel_type")
    ws.require_active(ch)
    if not ws.join(ch, ws.bot):
        return {
            "ok": True,
            "channel": channel_json(ws, ch),
            "warning": "already_in_channel",
            "response_metadata": {"warnings": ["already_in_channel"]},
        }
    return {"ok": True, "channel": channel_json(ws, ch)}


@method("conversations.leave")
def leave(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = _regular_channel(ws, args)
    if ch.is_general:
        raise SlackError("cant_leave_general")
    ws.require_active(ch)
    if ws.bot not in ch.members:
        return {"ok": True, "not_in_channel": True}
    ch.members.remove(ws.bot)
    return {"ok": True}


def _set_text_field(ws: Workspace, args: Args, field: str, subtype: str) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    ws.require_active(ch)
    ws.require_member(ch)
    value = args.string(field, "") or ""
    if len(value) > MAX_TOPIC:
        raise SlackError("too_long")
    target = ch.topic if field == "topic" else ch.purpose
    target.value = value
    target.creator = ws.bot
    target.last_set = int(time.time())
    ws.post(ch, ws.bot, text=f"set the channel {field}: {value}", subtype=subtype)
    return {"ok": True, "channel": channel_json(ws, ch)}


@method("conversations.setTopic")
def set_topic(ws: Workspace, args: Args) -> dict[str, Any]:
    return _set_text_field(ws, args, "topic", "channel_topic")


@method("conversations.setPurpose")
def set_purpose(ws: Workspace, args: Args) -> dict[str, Any]:
    return _set_text_field(ws, args, "purpose", "channel_purpose")


@method("conversations.info")
def info(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    return {
        "ok": True,
        "channel": channel_json(ws, ch, num_members=args.flag("include_num_members")),
    }


def _types(args: Args) -> set[str]:
    types = set(args.id_list("types")) or {"public_channel"}
    unknown = types - set(CONVERSATION_TYPES)
    if unknown:
        raise SlackError("invalid_types")
    return types


def _kind(ch: Channel) -> str:
    if ch.is_im:
        return "im"
    if ch.is_mpim:
        return "mpim"
    return "private_channel" if ch.is_private else "public_channel"


def _listing(ws: Workspace, args: Args, member: str | None) -> dict[str, Any]:
    types = _types(args)
    exclude_archived = args.flag("exclude_archived")
    chans = [
        ch
        for ch in ws.channels.values()
        if _kind(ch) in types
        and ws.can_see(ch)
        and not (exclude_archived and ch.is_archived)
        and (member is None or member in ch.members)
    ]
    page, cursor = paginate(chans, args, default_limit=100)
    return {
        "ok": True,
        "channels": [channel_json(ws, ch, num_members=True) for ch in page],
        "response_metadata": {"next_cursor": cursor},
    }


@method("conversations.list")
def list_(ws: Workspace, args: Args) -> dict[str, Any]:
    return _listing(ws, args, member=None)


@method("users.conversations")
def users_conversations(ws: Workspace, args: Args) -> dict[str, Any]:
    user = args.string("user", ws.bot) or ws.bot
    if user not in ws.users:
        raise SlackError("user_not_found")
    return _listing(ws, args, member=user)


@method("conversations.members")
def members(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    page, cursor = paginate(ch.members, args, default_limit=100)
    return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}


def _window(args: Args) -> Callable[[Message], bool]:
    """Whether a message is inside `latest`/`oldest` (`inclusive` or not); the arguments are
    read once per call, not once per message of the channel."""
    latest, oldest = args.string("latest"), args.string("oldest")
    inclusive = args.flag("inclusive")
    hi = float(latest) if latest else None
    lo = float(oldest) if oldest else None

    def inside(msg: Message) -> bool:
        ts = float(msg.ts)
        if hi is not None and (ts > hi or (not inclusive and ts == hi)):
            return False
        return not (lo is not None and (ts < lo or (not inclusive and ts == lo)))

    return inside


@method("conversations.history")
def history(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    ws.require_member(ch)
    inside = _window(args)
    msgs = [
        m
        for m in reversed(ch.messages)
        if (not m.thread_ts or m.thread_ts == m.ts or m.reply_broadcast) and inside(m)
    ]
    page, cursor = paginate(msgs, args, default_limit=100, max_limit=999)
    return {
        "ok": True,
        "messages": [message_json(ws, m, ch) for m in page],
        "has_more": bool(cursor),
        "pin_count": len(ch.pins),
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": {"next_cursor": cursor},
    }


@method("conversations.replies")
def replies(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = ws.channel(args.required("channel", "channel_not_found"))
    ws.require_member(ch)
    ts = args.required("ts", "thread_not_found")
    parent = ch.message(ts)
    if parent is None:
        raise SlackError("thread_not_found")
    thread = [parent] + [m for m in ch.messages if m.thread_ts == ts and m.ts != ts]
    inside = _window(args)
    page, cursor = paginate([m for m in thread if inside(m)], args, default_limit=1000)
    return {
        "ok": True,
        "messages": [message_json(ws, m, ch) for m in page],
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


@method("conversations.archive")
def archive(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = _regular_channel(ws, args)
    if ch.is_general:
        raise SlackError("cant_archive_general")
    if ch.is_archived:
        raise SlackError("already_archived")
    ws.require_member(ch)
    ws.post(ch, ws.bot, text="archived the channel", subtype="channel_archive")
    ch.is_archived = True
    return {"ok": True}


@method("conversations.unarchive")
def unarchive(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = _regular_channel(ws, args)
    if not ch.is_archived:
        raise SlackError("not_archived")
    ch.is_archived = False
    return {"ok": True}


@method("conversations.rename")
def rename(ws: Workspace, args: Args) -> dict[str, Any]:
    ch = _regular_channel(ws, args)
    ws.require_active(ch)
    ws.require_member(ch)
    name = validate_name(ws, args.string("name"), current=ch)
    if name != ch.name:
        ch.previous_names.append(ch.name)
        ch.name = name
    return {"ok": True, "channel": channel_json(ws, ch)}


@method("conversations.open")
def open_(ws: Workspace, args: Args) -> dict[str, Any]:
    if "channel" in args:
        ch = ws.channel(args.required("channel"))
        return {"ok": True, "no_op": True, "already_open": True, "channel": channel_json(ws, ch)}
    users = [u for u in dict.fromkeys(args.id_list("users")) if u != ws.bot]
    if not users:
        raise SlackError("users_list_not_supplied")
    for uid in users:
        if uid not in ws.users:
            raise SlackError("user_not_found")
    if len(users) == 1:
        existed = any(c.is_im and c.im_user == users[0] for c in ws.channels.values())
        ch = ws.open_im(users[0])
    else:
        members = [ws.bot, *users]
        found = [c for c in ws.channels.values() if c.is_mpim and set(c.members) == set(members)]
        existed = bool(found)
        if found:
            ch = found[0]
        else:
            names = "--".join(ws.users[u].name for u in members)
            ch = ws.add_channel(f"mpdm-{names}-1", members=members, is_private=True)
            ch.is_mpim = True
    body: dict[str, Any] = {
        "ok": True,
        "channel": channel_json(ws, ch) if args.flag("return_im") else {"id": ch.id},
    }
    if existed:
        body["no_op"] = True
        body["already_open"] = True
    return body
