"""Plain records of what the emulated workspace holds.

These are the objects tests read back (`emu.messages(...)` etc., as deep copies),
so field names favour what a test wants to assert on; the Slack API JSON shapes
are built separately in `shapes.py`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


@dataclass
class User:
    id: str
    name: str
    real_name: str
    team_id: str
    tz: str = "Europe/Paris"
    email: str = ""
    title: str = ""
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False
    bot_id: str | None = None
    updated: int = 0


@dataclass
class Topic:
    value: str = ""
    creator: str = ""
    last_set: int = 0


@dataclass
class Message:
    ts: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    subtype: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    metadata: dict[str, Any] | None = None
    reply_broadcast: bool = False
    # emoji name -> user ids, in reaction order
    reactions: dict[str, list[str]] = field(default_factory=dict)
    # earlier versions ({"text", "blocks", "attachments", "edited_ts"}), oldest first
    history: list[dict[str, Any]] = field(default_factory=list)
    edited_ts: str | None = None
    edited_by: str | None = None
    reply_users: list[str] = field(default_factory=list)
    reply_count: int = 0
    latest_reply: str | None = None

    @property
    def edit_count(self) -> int:
        return len(self.history)

    @property
    def is_system(self) -> bool:
        """Join/topic/archive notices Slack posts by itself, not chat content."""
        return self.subtype in {
            "channel_join",
            "channel_topic",
            "channel_archive",
            "channel_purpose",
        }


@dataclass
class Pin:
    ts: str
    created: int
    created_by: str


@dataclass
class Channel:
    id: str
    name: str
    created: int
    creator: str
    is_private: bool = False
    is_archived: bool = False
    is_general: bool = False
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None
    members: list[str] = field(default_factory=list)
    topic: Topic = field(default_factory=Topic)
    purpose: Topic = field(default_factory=Topic)
    previous_names: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    pins: list[Pin] = field(default_factory=list)

    def message(self, ts: str) -> Message | None:
        for m in self.messages:
            if m.ts == ts:
                return m
        return None

    def pin(self, ts: str) -> Pin | None:
        for p in self.pins:
            if p.ts == ts:
                return p
        return None


@dataclass
class Usergroup:
    id: str
    handle: str
    name: str
    description: str
    users: list[str]
    created: int
    created_by: str


@dataclass
class View:
    id: str
    type: str
    team_id: str
    # the view payload as the app sent it (title, blocks, callback_id, ...)
    payload: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None
    external_id: str
    user_id: str | None
    opened_by: str  # "views.open" | "views.push" | "views.publish"
    created: float
    # earlier payloads, oldest first (views.update keeps the id, bumps the hash)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def callback_id(self) -> str:
        return str(self.payload.get("callback_id") or "")

    @property
    def private_metadata(self) -> str:
        return str(self.payload.get("private_metadata") or "")

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return list(self.payload.get("blocks") or [])

    @property
    def title(self) -> str:
        title = self.payload.get("title") or {}
        return str(title.get("text", "")) if isinstance(title, dict) else str(title)


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None
    message_ts: str
    thread_ts: str | None
    source: str  # "chat.postEphemeral" | "response_url"
    time: float


@dataclass
class ResponseUrl:
    id: str
    channel_id: str | None
    user_id: str | None
    message_ts: str | None
    created: float
    uses: int = 0


@dataclass
class ResponseRecord:
    """One POST to a response_url, as Bolt's `respond()` sends it."""

    url_id: str
    channel_id: str | None
    user_id: str | None
    body: dict[str, Any]
    status: int
    time: float

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")

    @property
    def response_type(self) -> str:
        return str(self.body.get("response_type") or "ephemeral")


@dataclass
class Trigger:
    id: str
    user_id: str | None
    issued_at: float
    used: bool = False


@dataclass
class Call:
    """One Web API call as it reached the emulator, and what it answered."""

    method: str
    args: dict[str, Any]
    response: dict[str, Any]
    status: int
    time: float
    duration: float = 0.0
    fault: str | None = None  # kind of injected fault that hit this call, if any
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers (Retry-After)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        err = self.response.get("error")
        return str(err) if err is not None else None
