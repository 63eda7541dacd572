"""The Slack app manifest and the code agree, both ways: every command and event the app
listens to is declared (and nothing else), every card button and modal has a listener, and
every Web API method the app calls needs only the scopes the manifest asks for, which in
turn are all needed."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from warroom_sandbox.testbed import Testbed

from bot.slack.ui import card_buttons
from handlers import register_all
from tests.e2e.test_lifecycle import declared

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())

# The bot scopes each Web API method needs (api.slack.com/methods); None: no scope.
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.getPermalink": None,
    "conversations.create": "channels:manage",
    "conversations.invite": "channels:manage",
    "conversations.setTopic": "channels:manage",
    "conversations.join": "channels:join",
    "conversations.list": "channels:read",
    "conversations.info": "channels:read",
    "conversations.members": "channels:read",
    "conversations.history": "channels:history",
    "conversations.open": "im:write",
    "conversations.replies": "channels:history",
    "pins.add": "pins:write",
    "reactions.get": "reactions:read",
    "users.info": "users:read",
    "users.list": "users:read",
    "usergroups.list": "usergroups:read",
    "usergroups.users.list": "usergroups:read",
    "views.open": None,
    "views.update": None,
    "views.push": None,
}
# The same methods on a private channel (`/incident declare --private`) need another scope.
PRIVATE_CHANNEL_SCOPES = {
    "conversations.create": "groups:write",
    "conversations.invite": "groups:write",
    "conversations.setTopic": "groups:write",
    "conversations.history": "groups:history",
}
PRIVATE_EVENT_SCOPES = {"member_joined_channel": "groups:read"}
# Events need a scope too, or Slack never sends them.
EVENT_SCOPES = {
    "reaction_added": "reactions:read",
    "reaction_removed": "reactions:read",
    "member_joined_channel": "channels:read",
}
# Scopes no Web API method stands for.
LISTENER_SCOPES = {"commands"}


class Recorder:
    """Stands in for the Bolt app: records what each handlers module registers."""

    def __init__(self) -> None:
        self.seen: dict[str, list[Any]] = {}

    def __getattr__(self, kind: str) -> Callable[..., Any]:
        def register(key: Any = None, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
            self.seen.setdefault(kind, []).append(key)
            return lambda fn: fn

        return register


@pytest.fixture(scope="module")
def registered(testbed: Testbed) -> dict[str, set]:
    rec = Recorder()
    register_all(rec, testbed.services)  # type: ignore[arg-type]
    return {kind: {k for k in keys if isinstance(k, str)} for kind, keys in rec.seen.items()}


def manifest_scopes() -> set[str]:
    return set(MANIFEST["oauth_config"]["scopes"]["bot"])


def source_methods() -> set[str]:
    """Web API methods called anywhere in the app's code (`….slack.chat_postMessage(`)."""
    found: set[str] = set()
    pattern = re.compile(r"\b(?:slack|client)\s*\.\s*([a-z]+_[A-Za-z_]+)\(")
    for folder in ("bot", "handlers", "incident"):
        for path in (ROOT / folder).rglob("*.py"):
            if "slack_emulator" in path.parts or path.name in ("slack_driver.py",):
                continue
            for name in pattern.findall(path.read_text()):
                method = name.replace("_", ".")
                if method.split(".")[0] in {m.split(".")[0] for m in METHOD_SCOPES}:
                    found.add(method)
    return found


def test_commands_agree(registered: dict[str, set]) -> None:
    declared_commands = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert registered["command"] == declared_commands


def test_events_agree(registered: dict[str, set]) -> None:
    subscribed = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert registered.get("event", set()) == subscribed
    for event in subscribed:
        assert EVENT_SCOPES[event] in manifest_scopes(), event
        assert PRIVATE_EVENT_SCOPES.get(event, EVENT_SCOPES[event]) in manifest_scopes(), event


def test_every_card_button_and_modal_has_a_listener(registered: dict[str, set]) -> None:
    buttons = {b.action_id for b in card_buttons.buttons()}
    assert buttons and buttons <= registered["action"]
    views = {
        card_buttons.UPDATE_VIEW,
        card_buttons.SEVERITY_VIEW,
        card_buttons.COMMANDER_VIEW,
        card_buttons.RESOLVE_VIEW,
    }
    assert views <= registered["view"]


def test_interactivity_and_events_point_at_the_one_url() -> None:
    settings = MANIFEST["settings"]
    urls = {
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
        *(c["url"] for c in MANIFEST["features"]["slash_commands"]),
    }
    assert len(urls) == 1 and next(iter(urls)).endswith("/slack/events")


def test_methods_in_the_code_need_only_declared_scopes() -> None:
    methods = source_methods()
    unknown = methods - set(METHOD_SCOPES)
    assert not unknown, f"add these to METHOD_SCOPES: {sorted(unknown)}"
    needed = {METHOD_SCOPES[m] for m in methods} - {None}
    needed |= {PRIVATE_CHANNEL_SCOPES[m] for m in methods if m in PRIVATE_CHANNEL_SCOPES}
    assert needed <= manifest_scopes(), sorted(needed - manifest_scopes())


def test_every_declared_scope_is_used() -> None:
    used = {METHOD_SCOPES[m] for m in source_methods()} | set(EVENT_SCOPES.values())
    used |= {PRIVATE_CHANNEL_SCOPES[m] for m in source_methods() if m in PRIVATE_CHANNEL_SCOPES}
    used |= set(PRIVATE_EVENT_SCOPES.values())
    assert manifest_scopes() - LISTENER_SCOPES <= used, sorted(manifest_scopes() - used)


def test_what_a_full_incident_calls_is_within_the_manifest(bed: Testbed) -> None:
    """Declare, run and resolve an incident the long way round, then check every call."""
    alice, bob = bed.people["alice"], bed.people["bob"]
    bed.emulator.add_usergroup("oncall", [bob])
    old = bed.settings.oncall_group, bed.settings.reminder_interval_s
    bed.settings.oncall_group, bed.settings.reminder_interval_s = "oncall", 0.05
    try:
        inc = declared(bed, sev="SEV2")
        ch = inc["channel_id"]
        bed.clock.advance(timedelta(minutes=15, seconds=1))
        bed.wait_for(lambda: bed.emulator.calls("usergroups.list"))
        ts = bed.emulator.add_message(ch, bob, "found it")
        pin = {
            "type": "reaction_added",
            "user": alice,
            "reaction": "pushpin",
            "item_user": bob,
            "item": {"type": "message", "channel": ch, "ts": ts},
        }
        bed.driver.event(pin)
        bed.driver.event({**pin, "type": "reaction_removed"})
        bed.driver.event({"type": "member_joined_channel", "user": bob, "channel": ch})
        for text in (
            "ack",
            "update Rolling back",
            "sev SEV1",
            "ic @bob",
            "note cause: config",
            "timeline",
        ):
            bed.driver.command(text, user_id=alice, channel_id=ch)
        bed.driver.command("sev SEV2", user_id=bed.people["carol"], channel_id=ch)
        bed.driver.block_action(
            "incident_resolve", "1", user_id=bob, channel_id=ch, message_ts=inc["card_ts"]
        )
        view = bed.wait_for(lambda: bed.emulator.views())[-1]
        bed.driver.view_submission(
            view.callback_id, {"summary": {"value": "Rolled back"}}, user_id=bob, view_id=view.id
        )
        bed.wait_for(lambda: bed.rows("SELECT status FROM incidents")[0]["status"] == "resolved")
        bed.wait_for(
            lambda: (
                "resolved"
                in bed.emulator.messages(bed.emulator.channel_by_name("incidents").id)[
                    -1
                ].text.lower()
            )
        )
    finally:
        bed.settings.oncall_group, bed.settings.reminder_interval_s = old
    called = {c.method for c in bed.emulator.calls()}
    assert {"conversations.history", "reactions.get", "usergroups.list", "users.list"} <= called
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"add these to METHOD_SCOPES: {sorted(unknown)}"
    needed = {METHOD_SCOPES[m] for m in called} - {None}
    assert needed <= manifest_scopes(), sorted(needed - manifest_scopes())
