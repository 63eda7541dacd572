"""The `/incident` subcommands. Each listener module declares its own with `@subcommand`, and
the single `/incident` listener dispatches; help is generated from the same table."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.services import Services


@dataclass
class CommandCall:
    """One `/incident` delivery, already split into subcommand and arguments."""

    name: str
    args: str
    body: dict[str, Any]
    ack: Callable[..., Awaitable[None]]
    respond: Callable[..., Awaitable[Any]]
    services: Services

    @property
    def user_id(self) -> str:
        return self.body["user_id"]

    @property
    def channel_id(self) -> str:
        return self.body.get("channel_id", "")

    @property
    def trigger_id(self) -> str:
        return self.body.get("trigger_id", "")

    @property
    def delivery_key(self) -> str:
        """Slack gives every invocation its own trigger_id; a redelivery repeats it."""
        return f"{self.body.get('team_id', '')}:{self.trigger_id}"


Handler = Callable[[CommandCall], Awaitable[None]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    help: str
    handler: Handler
    order: int


SUBCOMMANDS: dict[str, Subcommand] = {}
ALIASES: dict[str, str] = {}


def subcommand(
    name: str, usage: str, help: str, *, order: int = 50, aliases: tuple[str, ...] = ()
) -> Callable[[Handler], Handler]:
    def wrap(fn: Handler) -> Handler:
        SUBCOMMANDS[name] = Subcommand(name, usage, help, fn, order)
        for alias in aliases:
            ALIASES[alias] = name
        return fn

    return wrap


def lookup(name: str) -> Subcommand | None:
    return SUBCOMMANDS.get(ALIASES.get(name, name))


def nearest(name: str) -> str | None:
    """The subcommand a mistyped name most likely meant (`rollbak` → `rollback`), or None
    when nothing is close; aliases count, the suggestion is the subcommand's own name."""
    names = [*SUBCOMMANDS, *ALIASES]
    found = difflib.get_close_matches(name[:40].lower(), names, n=1, cutoff=0.6)
    return lookup(found[0]).name if found and lookup(found[0]) else None


def usage_text(intro: str | None = None) -> str:
    lines = [intro] if intro else []
    lines.append("*Usage:*")
    for sub in sorted(SUBCOMMANDS.values(), key=lambda s: (s.order, s.name)):
        lines.append(f"• `{sub.usage}` — {sub.help}")
    return "\n".join(lines)
