"""Builders for the payloads Slack sends to an app: slash commands, block_actions,
view_submission, Events API envelopes.

Pure functions (no HTTP) so tests can also feed them to handlers directly; the
shapes follow what Slack really sends, fields Bolt reads included.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_event_counter = itertools.count(1)


@dataclass(frozen=True)
class AppIdentity:
    """The workspace/app pair a payload claims to come from."""

    team_id: str = "T0001"
    team_domain: str = "warroom-test"
    api_app_id: str = "A0001"
    bot_user_id: str = "UBOT"
    bot_id: str = "B0001"
    verification_token: str = "verification-token"


def fake_trigger_id() -> str:
    return f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"


def action_ts() -> str:
    now = time.time()
    return f"{now:.6f}"


def new_event_id() -> str:
    return (
        f"Ev{int(time.time()) % 10**6:06d}{next(_event_counter):04d}{secrets.token_hex(2).upper()}"
    )


# -- slash commands --------------------------------------------------------


def slash_command(
    ident: AppIdentity,
    *,
    command: str,
    text: str,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    """The form fields of a slash command POST."""
    return {
        "token": ident.verification_token,
        "team_id": ident.team_id,
        "team_domain": ident.team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": ident.api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


# -- interactivity ---------------------------------------------------------


def _user(ident: AppIdentity, user_id: str, user_name: str) -> dict[str, Any]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": ident.team_id}


def _team(ident: AppIdentity) -> dict[str, Any]:
    return {"id": ident.team_id, "domain": ident.team_domain}


def option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}


def action(
    action_id: str,
    *,
    block_id: str,
    value: str | None = None,
    action_type: str | None = None,
    selected_option: str | Mapping[str, Any] | None = None,
    selected_options: Iterable[str | Mapping[str, Any]] | None = None,
    selected_user: str | None = None,
    selected_users: Iterable[str] | None = None,
    selected_channel: str | None = None,
    selected_date: str | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    """One entry of `actions` in a block_actions payload; the element type is
    inferred from what was selected unless given."""
    act: dict[str, Any] = {"action_id": action_id, "block_id": block_id}
    if selected_option is not None:
        act["type"] = action_type or "static_select"
        act["selected_option"] = (
            option(selected_option) if isinstance(selected_option, str) else dict(selected_option)
        )
    elif selected_options is not None:
        act["type"] = action_type or "multi_static_select"
        act["selected_options"] = [
            option(o) if isinstance(o, str) else dict(o) for o in selected_options
        ]
    elif selected_user is not None:
        act["type"] = action_type or "users_select"
        act["selected_user"] = selected_user
    elif selected_users is not None:
        act["type"] = action_type or "multi_users_select"
        act["selected_users"] = list(selected_users)
    elif selected_channel is not None:
        act["type"] = action_type or "channels_select"
        act["selected_channel"] = selected_channel
    elif selected_date is not None:
        act["type"] = action_type or "datepicker"
        act["selected_date"] = selected_date
    else:
        act["type"] = action_type or "button"
        act["text"] = {"type": "plain_text", "text": text or action_id, "emoji": True}
        if value is not None:
            act["value"] = value
    if value is not None and "value" not in act and act["type"] != "button":
        act["value"] = value
    act["action_ts"] = action_ts()
    return act


def block_actions(
    ident: AppIdentity,
    *,
    user_id: str,
    user_name: str,
    actions: list[dict[str, Any]],
    trigger_id: str,
    channel_id: str | None = None,
    channel_name: str | None = None,
    message: dict[str, Any] | None = None,
    message_ts: str | None = None,
    view: dict[str, Any] | None = None,
    response_url: str | None = None,
    state_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A block_actions payload from a message (channel+message_ts) or a view."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(ident, user_id, user_name),
        "api_app_id": ident.api_app_id,
        "token": ident.verification_token,
        "trigger_id": trigger_id,
        "team": _team(ident),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id")}
        payload["view"] = view
    else:
        ts = message_ts or (message or {}).get("ts")
        payload["container"] = {
            "type": "message",
            "message_ts": ts or action_ts(),
            "channel_id": channel_id,
            "is_ephemeral": ts is None,
        }
        payload["channel"] = {"id": channel_id, "name": channel_name or channel_id}
        if message is not None:
            payload["message"] = message
        payload["state"] = {"values": dict(state_values or {})}
        if response_url:
            payload["response_url"] = response_url
    payload["actions"] = actions
    return payload


def input_value(value: Any) -> dict[str, Any]:
    """One `view.state.values[block][action]` entry from a plain Python value.

    str/None -> plain_text_input; a dict carrying "type" is taken as is, so any
    element Slack supports can be given verbatim.
    """
    if isinstance(value, Mapping) and "type" in value:
        return dict(value)
    if value is None or isinstance(value, str):
        return {"type": "plain_text_input", "value": value}
    raise TypeError(f"cannot infer a Block Kit element for {value!r}; pass a dict with 'type'")


def state_values(values: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Slack's `{block_id: {action_id: {"type": ..., ...}}}` from either that very
    shape or the shorthand `{block_id: {action_id: "text"}}`."""
    return {
        block_id: {action_id: input_value(v) for action_id, v in actions.items()}
        for block_id, actions in values.items()
    }


# shorthands for non-text inputs, for use inside state_values()
def static_select(value: str, text: str | None = None) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": option(value, text)}


def multi_static_select(values: Iterable[str]) -> dict[str, Any]:
    return {"type": "multi_static_select", "selected_options": [option(v) for v in values]}


def users_select(user_id: str | None) -> dict[str, Any]:
    return {"type": "users_select", "selected_user": user_id}


def multi_users_select(user_ids: Iterable[str]) -> dict[str, Any]:
    return {"type": "multi_users_select", "selected_users": list(user_ids)}


def conversations_select(channel_id: str | None) -> dict[str, Any]:
    return {"type": "conversations_select", "selected_conversation": channel_id}


def datepicker(date: str | None) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": date}


def checkboxes(values: Iterable[str]) -> dict[str, Any]:
    return {"type": "checkboxes", "selected_options": [option(v) for v in values]}


def radio_buttons(value: str | None) -> dict[str, Any]:
    return {"type": "radio_buttons", "selected_option": option(value) if value else None}


def view_submission(
    ident: AppIdentity,
    *,
    user_id: str,
    user_name: str,
    view: dict[str, Any],
    trigger_id: str,
    response_urls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": _team(ident),
        "user": _user(ident, user_id, user_name),
        "api_app_id": ident.api_app_id,
        "token": ident.verification_token,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def modal_view(
    ident: AppIdentity,
    *,
    view_id: str,
    callback_id: str,
    private_metadata: str,
    values: Mapping[str, Mapping[str, Any]],
    blocks: list[dict[str, Any]] | None = None,
    title: str = "Modal",
    external_id: str = "",
    hash_: str | None = None,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The `view` of a submission: `base` (the opened view, if known) + submitted state."""
    view: dict[str, Any] = {
        "id": view_id,
        "team_id": ident.team_id,
        "type": "modal",
        "blocks": blocks or [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title, "emoji": True},
        "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
        "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "external_id": external_id,
        "hash": hash_ or f"{int(time.time())}.{secrets.token_hex(4)}",
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": ident.api_app_id,
        "app_installed_team_id": ident.team_id,
        "bot_id": ident.bot_id,
    }
    if base:
        view.update({k: v for k, v in base.items() if v is not None})
        # the caller's explicit choices win over the stored view
        view["callback_id"] = callback_id or view.get("callback_id", "")
        if private_metadata:
            view["private_metadata"] = private_metadata
    view["state"] = {"values": state_values(values)}
    return view


# -- Events API --------------------------------------------------------------


def event_callback(
    ident: AppIdentity,
    event: Mapping[str, Any],
    *,
    event_id: str | None = None,
    event_time: int | None = None,
) -> dict[str, Any]:
    return {
        "token": ident.verification_token,
        "team_id": ident.team_id,
        "context_team_id": ident.team_id,
        "context_enterprise_id": None,
        "api_app_id": ident.api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ident.team_id,
                "user_id": ident.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }


def url_verification(ident: AppIdentity, challenge: str) -> dict[str, Any]:
    return {"token": ident.verification_token, "challenge": challenge, "type": "url_verification"}
