"""The Bolt app factory: one AsyncApp with every listener module registered.

Requests are checked before Bolt sees them: one without a valid signature is answered 401,
and a body no Slack would send (missing fields, wrong types) 400; neither reaches a
listener, so a listener can rely on the shape Slack documents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger import get_bolt_app_logger
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.http.bolt_speed import direct_matchers, use_prompt_acks
from bot.logging_setup import get_logger
from bot.services import Services
from handlers import register_all
from handlers.incident_context import is_channel_id, is_team_id, is_user_id

log = get_logger(__name__)

INTERACTIVE = {
    "block_actions",
    "block_suggestion",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "interactive_message",
}
# Fields that, when present, Slack always sends as objects.
OBJECT_FIELDS = ("user", "team", "channel", "container", "message", "view", "enterprise", "state")
MAX_VALUE = 2000  # Slack caps a button's value (and an option's) at 2000 characters


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _id_problem(where: str, value: Any, shape: Callable[[Any], bool], kind: str) -> str | None:
    """An id Slack sends is short and shaped (`U…`, `C…`, `T…`); one that is not would fail
    only in Postgres (longer than its column), as "Storage is unavailable"."""
    if value is None or value == "" or shape(value):
        return None
    return f"`{where}` is not a {kind} id"


def _ids_problem(body: dict[str, Any]) -> str | None:
    """The user, channel and team ids wherever Slack puts them in a command, an
    interaction or an event."""
    user, channel, team = body.get("user") or {}, body.get("channel") or {}, body.get("team")
    container = body.get("container") or {}
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    item = event.get("item") if isinstance(event.get("item"), dict) else {}
    checks = (
        ("user_id", body.get("user_id"), is_user_id, "user"),
        ("channel_id", body.get("channel_id"), is_channel_id, "channel"),
        ("team_id", body.get("team_id"), is_team_id, "team"),
        ("user.id", user.get("id"), is_user_id, "user"),
        ("channel.id", channel.get("id"), is_channel_id, "channel"),
        ("container.channel_id", container.get("channel_id"), is_channel_id, "channel"),
        ("team.id", (team or {}).get("id"), is_team_id, "team"),
        # an event's `user` is an object in user_change; only a string id is checked
        (
            "event.user",
            event.get("user") if isinstance(event.get("user"), str) else None,
            is_user_id,
            "user",
        ),
        (
            "event.channel",
            event.get("channel") if isinstance(event.get("channel"), str) else None,
            is_channel_id,
            "channel",
        ),
        ("event.item.channel", item.get("channel"), is_channel_id, "channel"),
    )
    for where, value, shape, kind in checks:
        if problem := _id_problem(where, value, shape, kind):
            return problem
    return None


def _view_problem(view: Any, *, typed: bool = False, submitted: bool = False) -> str | None:
    if not isinstance(view, dict):
        return "`view` is not an object"
    if typed and not _is_id(view.get("type")):
        return "a view without a type"
    for key in ("id", "callback_id", "private_metadata"):
        if view.get(key) is not None and not isinstance(view[key], str):
            return f"`view.{key}` is not a string"
    state = view.get("state")
    if state is None:
        # Slack sends `state.values` with every submission, `{}` for a form without inputs
        return "a view submission without `view.state`" if submitted else None
    if not isinstance(state, dict):
        return "`view.state` is not an object"
    values = state.get("values")
    if values is None:
        return "a view submission without `view.state.values`" if submitted else None
    if not isinstance(values, dict) or not all(
        isinstance(block, dict) and all(isinstance(v, dict) for v in block.values())
        for block in values.values()
    ):
        return "`view.state.values` is not {block: {action: object}}"
    return None


def malformed(body: Any) -> str | None:
    """Why `body` is not something Slack sends (None: it could be). Only the shape that
    listeners rely on is checked; unknown fields are Slack's business."""
    if not isinstance(body, dict):
        return "the body is not an object"
    for key in OBJECT_FIELDS:
        if body.get(key) is not None and not isinstance(body[key], dict):
            return f"`{key}` is not an object"
    if problem := _ids_problem(body):
        return problem
    if "command" in body:
        if not _is_id(body.get("user_id")):
            return "a command without user_id"
        for key in ("text", "channel_id", "trigger_id", "response_url", "team_id"):
            if body.get(key) is not None and not isinstance(body[key], str):
                return f"`{key}` is not a string"
        return None
    kind = body.get("type")
    if kind in INTERACTIVE and not _is_id((body.get("user") or {}).get("id")):
        return "an interaction without user.id"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        for action in actions:
            if not isinstance(action, dict) or not _is_id(action.get("action_id")):
                return "an action without action_id"
            for key in ("value", "action_ts", "block_id"):
                if action.get(key) is not None and not isinstance(action[key], str):
                    return f"`actions[].{key}` is not a string"
            if len(action.get("value") or "") > MAX_VALUE:
                return f"`actions[].value` is longer than Slack's {MAX_VALUE} characters"
    if kind in ("view_submission", "view_closed"):
        return _view_problem(body.get("view"), typed=True, submitted=kind == "view_submission")
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not _is_id(event.get("type")):
            return "event_callback without an event"
    return None


def signed(request: AsyncBoltRequest, secret: str) -> bool:
    """Slack's v0 signature over the raw body, within five minutes; False for anything
    unreadable (a timestamp that is not a number)."""
    timestamp = request.headers.get("x-slack-request-timestamp", [""])[0]
    signature = request.headers.get("x-slack-signature", [""])[0]
    try:
        return SignatureVerifier(secret).is_valid(request.raw_body, timestamp, signature)
    except (ValueError, TypeError):
        return False


REFUSED = BoltResponse(status=401, body={"error": "invalid request"})


class WarroomApp(AsyncApp):
    """Bolt, with the request checked before any of Bolt runs: Bolt's own middleware and
    argument injection index into the payload and crash (a 500) on shapes Slack never
    sends. Unsigned requests get 401 as Bolt would answer them; malformed ones 400."""

    def __init__(self, *, signing_secret: str, **kwargs: Any) -> None:
        super().__init__(signing_secret=signing_secret, **kwargs)
        self._warroom_secret = signing_secret
        # Put in every request's context (`context["services"]`) by _init_context rather
        # than by a middleware: Bolt inspects a middleware's signature on every request.
        self.services: Services | None = None
        self._request_logger = get_bolt_app_logger(self.name, self._base_logger)

    def _init_context(self, req: AsyncBoltRequest) -> None:
        """Bolt builds a new Web API client (and looks its logger up) for every request, in
        case a listener changes the token on it; warroom has one workspace and one token, and
        its own client (services.slack) lets acks go first, so every request gets that one."""
        req.context["logger"] = self._request_logger
        req.context["token"] = self._token
        req.context["client"] = self._async_client
        req.context["listener_runner"] = self.listener_runner
        if self.services is not None:
            req.context["services"] = self.services

    def unreadable(
        self, raw_body: bytes, headers: Mapping[str, Any], error: Exception
    ) -> BoltResponse:
        """The answer to a body Bolt cannot even parse (invalid JSON or UTF-8, a payload that
        is not an object): 401 unless Slack signed it, else 400. The HTTP server calls it
        when building the Bolt request fails, before `async_dispatch`."""

        def first(name: str) -> str:
            value = headers.get(name) or ""
            return str(value[0] if isinstance(value, list | tuple) and value else value)

        try:
            ok = SignatureVerifier(self._warroom_secret).is_valid(
                raw_body, first("x-slack-request-timestamp"), first("x-slack-signature")
            )
        except (ValueError, TypeError):
            ok = False
        if not ok:
            return BoltResponse(status=REFUSED.status, body=REFUSED.body)
        log.warning("unreadable request refused", error_type=type(error).__name__)
        return BoltResponse(status=400, body={"error": "malformed request"})

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        socket_mode = req.mode == "socket_mode"  # no HTTP signature; the socket is the proof
        ssl_check = isinstance(req.body, dict) and "ssl_check" in req.body  # Bolt answers it
        if not socket_mode and not ssl_check and not signed(req, self._warroom_secret):
            return BoltResponse(status=REFUSED.status, body=REFUSED.body)
        if not ssl_check and (problem := malformed(req.body)):
            log.warning("malformed request refused", problem=problem)
            return BoltResponse(status=400, body={"error": "malformed request"})
        return await super().async_dispatch(req)


def create_app(services: Services, *, signing_secret: str | None = None) -> WarroomApp:
    settings = services.settings
    secret = signing_secret or settings.slack_signing_secret or ""
    app = WarroomApp(
        client=services.slack,
        signing_secret=secret,
        # async_dispatch checks the signature before Bolt runs; once is enough
        request_verification_enabled=False,
        process_before_response=False,
        ignoring_self_events_enabled=True,
        # Bolt's own logger would follow the root level and log refused request bodies
        # at INFO; this one follows `slack_bolt`'s (WARNING, see logging_setup).
        logger=logging.getLogger("slack_bolt.warroom"),
    )

    app.services = services
    register_all(app, services)
    use_prompt_acks(app)
    direct_matchers(app)
    return app
