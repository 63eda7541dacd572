"""`SlackEmulator`: an in-memory Slack workspace behind a real HTTP Web API.

Tests and `warroom sandbox` point the app's real slack_sdk client at it
(`base_url=emu.api_url`), then read back "what reached Slack": every call,
plus the resulting channels, messages, pins, views, ephemerals and
response_url posts. One lock guards everything because uvicorn serves it from
its own thread while tests read it from theirs.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from warroom_sandbox.slack_emulator.args import Args
from warroom_sandbox.slack_emulator.errors import SlackError
from warroom_sandbox.slack_emulator.faults import Fault, FaultBook
from warroom_sandbox.slack_emulator.ids import IdFactory, TsClock
from warroom_sandbox.slack_emulator.methods import HANDLERS
from warroom_sandbox.slack_emulator.model import (
    Call,
    Channel,
    Ephemeral,
    Message,
    Pin,
    ResponseRecord,
    User,
    View,
    to_dict,
)
from warroom_sandbox.slack_emulator.response_urls import handle_response
from warroom_sandbox.slack_emulator.shapes import message_json, view_json
from warroom_sandbox.slack_emulator.workspace import TeamConfig, Workspace

if TYPE_CHECKING:
    from starlette.applications import Starlette

log = logging.getLogger(__name__)


class SlackEmulator:
    def __init__(
        self,
        bot_token: str = "xoxb-test",
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        *,
        bot_id: str = "B0001",
        app_id: str = "A0001",
        team_name: str = "Warroom Test",
        team_domain: str = "warroom-test",
        bot_name: str = "warroom",
        trigger_ttl: float = 3.0,
        strict_triggers: bool = False,
        url: str | None = None,
        max_calls: int | None = 100_000,
    ) -> None:
        self.config = TeamConfig(
            bot_token=bot_token,
            team_id=team_id,
            team_name=team_name,
            team_domain=team_domain,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            bot_name=bot_name,
            trigger_ttl=trigger_ttl,
            strict_triggers=strict_triggers,
        )
        # base URL ("http://127.0.0.1:PORT"), set by start_emulator once served
        self.url = url
        self.faults = FaultBook()
        self._lock = threading.RLock()
        self._ids = IdFactory()
        self._clock = TsClock()
        self._ws = Workspace(self.config, self._ids, self._clock)
        # bounded so a long sandbox session cannot grow without limit
        self._calls: deque[Call] = deque(maxlen=max_calls)
        self._app: Starlette | None = None

    # -- serving -------------------------------------------------------------

    @property
    def asgi_app(self) -> Starlette:
        if self._app is None:
            from warroom_sandbox.slack_emulator.app import build_app

            self._app = build_app(self)
        return self._app

    @property
    def api_url(self) -> str:
        """What to pass as slack_sdk's `base_url` (it appends the method name)."""
        return f"{self._base()}/api/"

    def _base(self) -> str:
        if not self.url:
            raise RuntimeError("the emulator is not served yet: use start_emulator(emu) first")
        return self.url.rstrip("/")

    # -- seeding -------------------------------------------------------------

    def add_user(
        self,
        name: str,
        real_name: str | None = None,
        is_admin: bool = False,
        tz: str = "Europe/Paris",
        *,
        email: str | None = None,
        title: str = "",
        is_bot: bool = False,
    ) -> str:
        with self._lock:
            return self._ws.add_user(name, real_name, is_admin, tz, email, title, is_bot).id

    def add_channel(
        self,
        name: str,
        members: tuple[str, ...] | list[str] = (),
        is_private: bool = False,
    ) -> str:
        """Seed a channel; put `emu.config.bot_user_id` in `members` to have the bot in it."""
        with self._lock:
            if self._ws.channel_by_name(name) is not None:
                raise ValueError(f"channel #{name} already exists")
            return self._ws.add_channel(name, members=tuple(members), is_private=is_private).id

    def add_usergroup(
        self, handle: str, members: tuple[str, ...] | list[str], name: str = ""
    ) -> str:
        with self._lock:
            return self._ws.add_usergroup(handle, tuple(members), name).id

    def add_message(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """A message some human posted (for history-reading code); returns its ts."""
        with self._lock:
            ch = self._ws.channels[channel_id]
            return self._ws.post(ch, user_id, text=text, blocks=blocks, thread_ts=thread_ts).ts

    def add_member(self, channel_id: str, user_id: str) -> None:
        with self._lock:
            self._ws.join(self._ws.channels[channel_id], user_id)

    def reset(self) -> None:
        """Back to the default workspace; ids and timestamps keep increasing."""
        with self._lock:
            self._ws = Workspace(self.config, self._ids, self._clock)
            self._calls.clear()
            self.faults.clear()

    # -- faults --------------------------------------------------------------

    def fail(
        self,
        method: str,
        error: str | None = None,
        retry_after: int = 1,
        times: int | None = 1,
        status: int | None = None,
        delay: float | None = None,
        apply: bool = False,
    ) -> Fault:
        """Make the next `times` calls of `method` ("*": any method) fail.

        No error/status/delay means Slack's rate limit (429 + Retry-After). `status`
        500/503 gives that HTTP error; `error` alone a 200 `{"ok": false}`; `delay`
        alone answers normally but late (for client timeouts). `apply=True` also
        performs the call, like a Slack failure after the side effect.
        """
        return self.faults.add(
            Fault(
                method=method,
                error=error,
                retry_after=retry_after,
                times=times,
                status=status,
                delay=delay,
                apply=apply,
            )
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- Slack-issued artefacts ----------------------------------------------

    def new_response_url(
        self,
        channel_id: str | None = None,
        user_id: str | None = None,
        message_ts: str | None = None,
        base_url: str | None = None,
    ) -> str:
        with self._lock:
            ru = self._ws.new_response_url(channel_id, user_id, message_ts)
        base = (base_url or self._base()).rstrip("/")
        return f"{base}/_emulator/response/{ru.id}"

    def issue_trigger_id(self, user_id: str | None = None) -> str:
        with self._lock:
            return self._ws.issue_trigger(user_id).id

    # -- inspection (deep copies: safe to keep while the app keeps calling) --

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls if method is None or c.method == method]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def channel(self, channel_id: str) -> Channel | None:
        with self._lock:
            return copy.deepcopy(self._ws.channels.get(channel_id))

    def channel_by_name(self, name: str) -> Channel | None:
        with self._lock:
            return copy.deepcopy(self._ws.channel_by_name(name))

    def channels(self) -> list[Channel]:
        with self._lock:
            return copy.deepcopy(list(self._ws.channels.values()))

    def user(self, user_id: str) -> User | None:
        with self._lock:
            return copy.deepcopy(self._ws.users.get(user_id))

    def users(self) -> list[User]:
        with self._lock:
            return copy.deepcopy(list(self._ws.users.values()))

    def messages(
        self,
        channel_id: str,
        include_system: bool = False,
        thread_ts: str | None = None,
    ) -> list[Message]:
        """Oldest first; join/topic/archive notices only with include_system."""
        with self._lock:
            ch = self._ws.channels.get(channel_id)
            if ch is None:
                return []
            msgs = [
                m
                for m in ch.messages
                if (include_system or not m.is_system)
                and (thread_ts is None or m.thread_ts == thread_ts)
            ]
            return copy.deepcopy(msgs)

    def message(self, channel_id: str, ts: str) -> Message | None:
        with self._lock:
            ch = self._ws.channels.get(channel_id)
            return copy.deepcopy(ch.message(ts)) if ch else None

    def pins(self, channel_id: str) -> list[Pin]:
        with self._lock:
            ch = self._ws.channels.get(channel_id)
            return [replace(p) for p in ch.pins] if ch else []

    def topic(self, channel_id: str) -> str:
        with self._lock:
            ch = self._ws.channels.get(channel_id)
            return ch.topic.value if ch else ""

    def members(self, channel_id: str) -> list[str]:
        with self._lock:
            ch = self._ws.channels.get(channel_id)
            return list(ch.members) if ch else []

    def views(self, user_id: str | None = None) -> list[View]:
        with self._lock:
            return copy.deepcopy(
                [v for v in self._ws.views.values() if user_id is None or v.user_id == user_id]
            )

    def view(self, view_id: str) -> View | None:
        with self._lock:
            return copy.deepcopy(self._ws.views.get(view_id))

    def ephemerals(self, channel_id: str | None = None, user: str | None = None) -> list[Ephemeral]:
        with self._lock:
            return copy.deepcopy(
                [
                    e
                    for e in self._ws.ephemerals
                    if (channel_id is None or e.channel == channel_id)
                    and (user is None or e.user == user)
                ]
            )

    def responses(self, url: str | None = None) -> list[ResponseRecord]:
        """response_url POSTs, optionally only those to one URL."""
        url_id = url.rstrip("/").rsplit("/", 1)[-1] if url else None
        with self._lock:
            return copy.deepcopy(
                [r for r in self._ws.responses if url_id is None or r.url_id == url_id]
            )

    # -- what the driver needs to build realistic payloads ------------------

    def user_name(self, user_id: str) -> str | None:
        with self._lock:
            user = self._ws.users.get(user_id)
            return user.name if user else None

    def channel_name(self, channel_id: str) -> str | None:
        with self._lock:
            ch = self._ws.channels.get(channel_id)
            if ch is None:
                return None
            return "directmessage" if ch.is_im else ch.name

    def message_json(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        """A message as Slack embeds it in block_actions payloads."""
        with self._lock:
            ch = self._ws.channels.get(channel_id)
            msg = ch.message(ts) if ch else None
            return copy.deepcopy(message_json(self._ws, msg, ch)) if ch and msg else None

    def view_json(self, view_id: str) -> dict[str, Any] | None:
        """A view as Slack embeds it in view_submission/block_actions payloads."""
        with self._lock:
            view = self._ws.views.get(view_id)
            return copy.deepcopy(view_json(self._ws, view)) if view else None

    def snapshot(self, include_calls: bool = True) -> dict[str, Any]:
        """The whole state as plain JSON-able data (what GET /_emulator/state serves)."""
        with self._lock:
            ws = self._ws
            channels = []
            for ch in ws.channels.values():
                data = to_dict(ch)
                data["messages"] = [{**to_dict(m), "edit_count": m.edit_count} for m in ch.messages]
                channels.append(data)
            out: dict[str, Any] = {
                "team": to_dict(self.config),
                "url": self.url,
                "users": [to_dict(u) for u in ws.users.values()],
                "channels": channels,
                "usergroups": [to_dict(u) for u in ws.usergroups.values()],
                "views": [to_dict(v) for v in ws.views.values()],
                "ephemerals": [to_dict(e) for e in ws.ephemerals],
                "responses": [to_dict(r) for r in ws.responses],
                "faults": [f.to_dict() for f in self.faults.armed()],
            }
            if include_calls:
                out["calls"] = [to_dict(c) for c in self._calls]
            return copy.deepcopy(out)

    # -- request handling (called by the ASGI app) ---------------------------

    def call(
        self, method: str, args: dict[str, Any], token: str | None, fault: Fault | None = None
    ) -> Call:
        """Run one Web API call (after any fault delay) and record it."""
        started = time.time()
        status, body, headers = self._execute(method, args, token, fault)
        call = Call(
            method=method,
            args=args,
            response=body,
            status=status,
            time=started,
            duration=time.time() - started,
            fault=fault.kind if fault is not None else None,
            headers=headers,
        )
        with self._lock:
            self._calls.append(call)
        return call

    def _execute(
        self, method: str, args: dict[str, Any], token: str | None, fault: Fault | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        answer = fault.answer() if fault is not None else None
        if answer is not None and not (fault and fault.apply):
            return answer
        body, status = self._run(method, args, token)
        if answer is not None:
            return answer
        return status, body, {}

    def _run(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[dict[str, Any], int]:
        handler = HANDLERS.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}, 200
        if not token:
            return {"ok": False, "error": "not_authed"}, 200
        if token != self.config.bot_token:
            return {"ok": False, "error": "invalid_auth"}, 200
        with self._lock:
            try:
                return handler(self._ws, Args(args)), 200
            except SlackError as err:
                return err.body(), err.status
            except Exception as err:
                # an emulator bug: answer like a Slack outage, but say why
                log.exception("slack emulator crashed in %s", method)
                return {"ok": False, "error": "fatal_error", "emulator_bug": repr(err)}, 500

    def respond(self, url_id: str, body: Any) -> tuple[int, str]:
        with self._lock:
            return handle_response(self._ws, url_id, body)
