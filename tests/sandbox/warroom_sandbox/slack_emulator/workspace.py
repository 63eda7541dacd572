"""The emulated workspace: users, channels, messages, views... and the rules
shared by several Web API methods (who can see which channel, posting, DMs).

Not thread-safe by itself: `SlackEmulator` holds one lock around every use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from warroom_sandbox.slack_emulator.errors import SlackError
from warroom_sandbox.slack_emulator.ids import IdFactory, TsClock
from warroom_sandbox.slack_emulator.model import (
    Channel,
    Ephemeral,
    Message,
    ResponseRecord,
    ResponseUrl,
    Trigger,
    User,
    Usergroup,
    View,
)


@dataclass(frozen=True)
class TeamConfig:
    bot_token: str = "xoxb-test"
    team_id: str = "T0001"
    team_name: str = "Warroom Test"
    team_domain: str = "warroom-test"
    bot_user_id: str = "UBOT"
    bot_id: str = "B0001"
    app_id: str = "A0001"
    bot_name: str = "warroom"
    # trigger_ids the emulator issued expire like Slack's (3 s) and work once
    trigger_ttl: float = 3.0
    # reject trigger_ids the emulator never issued (off: any string is accepted)
    strict_triggers: bool = False


class Workspace:
    def __init__(self, cfg: TeamConfig, ids: IdFactory, clock: TsClock) -> None:
        self.cfg = cfg
        self.ids = ids
        self.clock = clock
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.views: dict[str, View] = {}
        self.home_views: dict[str, str] = {}  # user id -> view id
        self.ephemerals: list[Ephemeral] = []
        self.response_urls: dict[str, ResponseUrl] = {}
        self.responses: list[ResponseRecord] = []
        self.triggers: dict[str, Trigger] = {}
        self._seed_defaults()

    def _seed_defaults(self) -> None:
        now = int(time.time())
        self.users[self.cfg.bot_user_id] = User(
            id=self.cfg.bot_user_id,
            name=self.cfg.bot_name,
            real_name=self.cfg.bot_name,
            team_id=self.cfg.team_id,
            is_bot=True,
            bot_id=self.cfg.bot_id,
            updated=now,
        )
        # Slack bots start outside every channel, #general included.
        self.add_channel("general", members=(), is_general=True)
        self.add_channel("incidents", members=())

    # -- seeding -----------------------------------------------------------

    def add_user(
        self,
        name: str,
        real_name: str | None = None,
        is_admin: bool = False,
        tz: str = "Europe/Paris",
        email: str | None = None,
        title: str = "",
        is_bot: bool = False,
        user_id: str | None = None,
    ) -> User:
        uid = user_id or self.ids.new("U")
        user = User(
            id=uid,
            name=name,
            real_name=real_name if real_name is not None else name,
            team_id=self.cfg.team_id,
            tz=tz,
            email=email if email is not None else f"{name}@example.com",
            title=title,
            is_admin=is_admin,
            is_bot=is_bot,
            updated=int(time.time()),
        )
        self.users[uid] = user
        # every workspace member is in #general
        for ch in self.channels.values():
            if ch.is_general and uid not in ch.members:
                ch.members.append(uid)
        return user

    def add_channel(
        self,
        name: str,
        members: tuple[str, ...] | list[str] = (),
        is_private: bool = False,
        is_general: bool = False,
        creator: str | None = None,
        channel_id: str | None = None,
    ) -> Channel:
        cid = channel_id or self.ids.new("C")
        ch = Channel(
            id=cid,
            name=name,
            created=int(time.time()),
            creator=creator or next(iter(members), self.cfg.bot_user_id),
            is_private=is_private,
            is_general=is_general,
        )
        for uid in members:
            if uid not in ch.members:
                ch.members.append(uid)
        if is_general:
            for uid, u in self.users.items():
                if not u.is_bot and uid not in ch.members:
                    ch.members.append(uid)
        self.channels[cid] = ch
        return ch

    def add_usergroup(
        self, handle: str, members: list[str] | tuple[str, ...], name: str = ""
    ) -> Usergroup:
        ug = Usergroup(
            id=self.ids.new("S"),
            handle=handle,
            name=name or handle,
            description="",
            users=list(members),
            created=int(time.time()),
            created_by=self.cfg.bot_user_id,
        )
        self.usergroups[ug.id] = ug
        return ug

    # -- lookups -------------------------------------------------------------

    @property
    def bot(self) -> str:
        return self.cfg.bot_user_id

    def channel_by_name(self, name: str) -> Channel | None:
        name = name.lstrip("#")
        for ch in self.channels.values():
            if ch.name == name and not ch.is_im:
                return ch
        return None

    def can_see(self, ch: Channel) -> bool:
        """Private conversations are invisible to a bot that is not in them."""
        return not (ch.is_private or ch.is_im or ch.is_mpim) or self.bot in ch.members

    def channel(self, channel_id: Any, allow_names: bool = False) -> Channel:
        """The conversation the bot asked for, or Slack's `channel_not_found`.

        Only chat.postMessage/postEphemeral accept `#name`/`name`; every other
        method wants an id, which is how real Slack catches name/id mix-ups.
        """
        if not channel_id or not isinstance(channel_id, str):
            raise SlackError("channel_not_found")
        ch = self.channels.get(channel_id)
        if ch is None and allow_names:
            if channel_id in self.users:
                ch = self.open_im(channel_id)
            else:
                ch = self.channel_by_name(channel_id)
        if ch is None or not self.can_see(ch):
            raise SlackError("channel_not_found")
        return ch

    def require_member(self, ch: Channel) -> None:
        if self.bot not in ch.members:
            raise SlackError("not_in_channel")

    def require_active(self, ch: Channel) -> None:
        if ch.is_archived:
            raise SlackError("is_archived")

    def message(self, ch: Channel, ts: Any) -> Message:
        msg = ch.message(ts) if isinstance(ts, str) else None
        if msg is None:
            raise SlackError("message_not_found")
        return msg

    def open_im(self, user_id: str) -> Channel:
        for ch in self.channels.values():
            if ch.is_im and ch.im_user == user_id:
                return ch
        ch = Channel(
            id=self.ids.new("D"),
            name=user_id,
            created=int(time.time()),
            creator=self.bot,
            is_im=True,
            im_user=user_id,
            members=[self.bot, user_id],
        )
        self.channels[ch.id] = ch
        return ch

    # -- mutations shared by several methods ------------------------------

    def post(
        self,
        ch: Channel,
        user: str,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        subtype: str | None = None,
        metadata: dict[str, Any] | None = None,
        reply_broadcast: bool = False,
    ) -> Message:
        from_bot = user == self.bot
        msg = Message(
            ts=self.clock.next(),
            user=user,
            text=text,
            blocks=blocks,
            attachments=attachments,
            thread_ts=thread_ts,
            subtype=subtype,
            bot_id=self.cfg.bot_id if from_bot else None,
            app_id=self.cfg.app_id if from_bot else None,
            metadata=metadata,
            reply_broadcast=reply_broadcast,
        )
        if thread_ts:
            parent = ch.message(thread_ts)
            if parent is not None:
                parent.reply_count += 1
                parent.latest_reply = msg.ts
                if user not in parent.reply_users:
                    parent.reply_users.append(user)
                if parent.thread_ts is None:
                    parent.thread_ts = parent.ts
        ch.messages.append(msg)
        return msg

    def join(self, ch: Channel, user: str) -> bool:
        """Add a member and post Slack's join notice; False if already there."""
        if user in ch.members:
            return False
        ch.members.append(user)
        if not ch.is_im:
            self.post(ch, user, text=f"<@{user}> has joined the channel", subtype="channel_join")
        return True

    def issue_trigger(self, user_id: str | None = None) -> Trigger:
        now = time.time()
        tid = f"{int(now)}.{self.cfg.team_id[1:] or '1'}.{self.ids.new('').lower()}"
        trig = Trigger(id=tid, user_id=user_id, issued_at=now)
        self.triggers[tid] = trig
        return trig

    def new_response_url(
        self, channel_id: str | None, user_id: str | None, message_ts: str | None
    ) -> ResponseUrl:
        ru = ResponseUrl(
            id=self.ids.new("R").lower(),
            channel_id=channel_id,
            user_id=user_id,
            message_ts=message_ts,
            created=time.time(),
        )
        self.response_urls[ru.id] = ru
        return ru
