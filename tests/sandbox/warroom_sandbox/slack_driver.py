"""Play Slack's side of the app's HTTP endpoint: signed slash commands,
block_actions, view_submissions and Events API callbacks, byte-for-byte the way
Slack sends them (form bodies, `payload=<json>`, v0 signatures, retry headers).

With an emulator attached, response_urls and trigger_ids are real emulator
ones, so what the app does with them (respond(), views.open) lands in the
emulator where tests can assert on it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

from warroom_sandbox.slack_emulator import payloads
from warroom_sandbox.slack_emulator.payloads import AppIdentity
from warroom_sandbox.slack_emulator.signing import signed_headers

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


class EmulatorLike(Protocol):
    """What the driver uses from `SlackEmulator` (or `EmulatorClient` for another process)."""

    def new_response_url(
        self,
        channel_id: str | None = None,
        user_id: str | None = None,
        message_ts: str | None = None,
    ) -> str: ...

    def issue_trigger_id(self, user_id: str | None = None) -> str: ...

    def user_name(self, user_id: str) -> str | None: ...

    def channel_name(self, channel_id: str) -> str | None: ...

    def message_json(self, channel_id: str, ts: str) -> dict[str, Any] | None: ...

    def view_json(self, view_id: str) -> dict[str, Any] | None: ...


def reaction_event(
    channel: str, ts: str, user: str, author: str, reaction: str = "pushpin"
) -> dict[str, Any]:
    """A `reaction_added` event: `user` reacted to `author`'s message `ts` in `channel`."""
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": reaction,
        "item_user": author,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": f"{time.time():.6f}",
    }


@dataclass
class SendOptions:
    """How to deliver: signature tampering, retries, extra headers."""

    timestamp: int | None = None  # e.g. time.time() - 360 for a stale request
    bad_signature: bool = False
    sign_with: str | None = None  # another signing secret
    retry_num: int | None = None
    retry_reason: str = "http_timeout"
    headers: Mapping[str, str] = field(default_factory=dict)
    unsigned: bool = False


@dataclass(frozen=True)
class Prepared:
    url: str
    body: bytes
    content_type: str


class SlackDriver:
    def __init__(
        self,
        app_url: str,
        signing_secret: str,
        emulator: EmulatorLike | None = None,
        team_id: str | None = None,
        *,
        team_domain: str | None = None,
        api_app_id: str | None = None,
        bot_user_id: str | None = None,
        commands_url: str | None = None,
        interactions_url: str | None = None,
        events_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.app_url = app_url
        self.signing_secret = signing_secret
        self.emulator = emulator
        # unset identity fields follow the emulator's workspace (or the defaults)
        cfg = getattr(emulator, "config", None)
        default = AppIdentity()
        self.ident = AppIdentity(
            team_id=team_id or getattr(cfg, "team_id", default.team_id),
            team_domain=team_domain or getattr(cfg, "team_domain", default.team_domain),
            api_app_id=api_app_id or getattr(cfg, "app_id", default.api_app_id),
            bot_user_id=bot_user_id or getattr(cfg, "bot_user_id", default.bot_user_id),
            bot_id=getattr(cfg, "bot_id", default.bot_id),
        )
        self.commands_url = commands_url or app_url
        self.interactions_url = interactions_url or app_url
        self.events_url = events_url or app_url
        self.timeout = timeout
        self._http = httpx.Client(timeout=timeout)
        self._ahttp: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    # -- lifecycle -------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    async def aclose(self) -> None:
        client = self._ahttp.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def __enter__(self) -> SlackDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw delivery ----------------------------------------------------------

    def raw_request(self, prepared: Prepared, opts: SendOptions | None = None) -> bytes:
        """The whole signed HTTP/1.1 request as bytes, for load generators that write to
        sockets themselves (the signature's clock starts now)."""
        headers = self.headers_for(prepared.body, prepared.content_type, opts or SendOptions())
        url = httpx.URL(prepared.url)
        lines = [
            f"POST {url.raw_path.decode()} HTTP/1.1",
            f"Host: {url.host}:{url.port}",
            f"Content-Length: {len(prepared.body)}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + prepared.body

    def headers_for(self, body: bytes, content_type: str, opts: SendOptions) -> dict[str, str]:
        headers = {"Content-Type": content_type, "User-Agent": USER_AGENT}
        if not opts.unsigned:
            secret = opts.sign_with or self.signing_secret
            if opts.bad_signature:
                secret = secret + "-wrong"
            headers.update(signed_headers(secret, body, opts.timestamp))
        if opts.retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(opts.retry_num)
            headers["X-Slack-Retry-Reason"] = opts.retry_reason
        headers.update(opts.headers)
        return headers

    def send(
        self,
        body: bytes | str,
        content_type: str = JSON,
        url: str | None = None,
        opts: SendOptions | None = None,
    ) -> httpx.Response:
        """POST an arbitrary (signed) body, for malformed-request tests."""
        raw = body.encode() if isinstance(body, str) else body
        return self._deliver(
            Prepared(url or self.app_url, raw, content_type), opts or SendOptions()
        )

    async def asend(
        self,
        body: bytes | str,
        content_type: str = JSON,
        url: str | None = None,
        opts: SendOptions | None = None,
    ) -> httpx.Response:
        raw = body.encode() if isinstance(body, str) else body
        return await self._adeliver(
            Prepared(url or self.app_url, raw, content_type), opts or SendOptions()
        )

    def retry(
        self, response: httpx.Response, retry_num: int = 1, reason: str = "http_timeout"
    ) -> httpx.Response:
        """Re-deliver the request behind `response` the way Slack retries: same body,
        fresh timestamp and signature, X-Slack-Retry-Num/Reason headers."""
        req = response.request
        prepared = Prepared(str(req.url), req.content, req.headers.get("content-type", JSON))
        return self._deliver(prepared, SendOptions(retry_num=retry_num, retry_reason=reason))

    async def aretry(
        self, response: httpx.Response, retry_num: int = 1, reason: str = "http_timeout"
    ) -> httpx.Response:
        req = response.request
        prepared = Prepared(str(req.url), req.content, req.headers.get("content-type", JSON))
        return await self._adeliver(prepared, SendOptions(retry_num=retry_num, retry_reason=reason))

    def _deliver(self, prepared: Prepared, opts: SendOptions) -> httpx.Response:
        headers = self.headers_for(prepared.body, prepared.content_type, opts)
        return self._http.post(prepared.url, content=prepared.body, headers=headers)

    async def _adeliver(self, prepared: Prepared, opts: SendOptions) -> httpx.Response:
        loop = asyncio.get_running_loop()
        client = self._ahttp.get(loop)
        if client is None:
            client = httpx.AsyncClient(timeout=self.timeout)
            self._ahttp[loop] = client
        headers = self.headers_for(prepared.body, prepared.content_type, opts)
        return await client.post(prepared.url, content=prepared.body, headers=headers)

    # -- what the emulator knows (names, messages, views, Slack-issued ids) ---

    def _user_name(self, user_id: str) -> str:
        name = self.emulator.user_name(user_id) if self.emulator else None
        return name or user_id.lower()

    def _channel_name(self, channel_id: str) -> str:
        name = self.emulator.channel_name(channel_id) if self.emulator else None
        return name or channel_id.lower()

    def _trigger(self, user_id: str, trigger_id: str | None) -> str:
        if trigger_id:
            return trigger_id
        if self.emulator is not None:
            return self.emulator.issue_trigger_id(user_id)
        return payloads.fake_trigger_id()

    def _response_url(self, channel_id: str | None, user_id: str, message_ts: str | None) -> str:
        if self.emulator is not None:
            return self.emulator.new_response_url(channel_id, user_id, message_ts)
        # without an emulator nothing listens there; the app only needs a URL
        return f"https://hooks.slack.com/actions/{self.ident.team_id}/0/{secrets.token_hex(12)}"

    # -- slash commands --------------------------------------------------------

    def prepare_command(
        self,
        text: str,
        user_id: str,
        channel_id: str,
        command: str = "/incident",
        trigger_id: str | None = None,
        response_url: str | None = None,
    ) -> Prepared:
        form = payloads.slash_command(
            self.ident,
            command=command,
            text=text,
            user_id=user_id,
            user_name=self._user_name(user_id),
            channel_id=channel_id,
            channel_name=self._channel_name(channel_id),
            response_url=response_url or self._response_url(channel_id, user_id, None),
            trigger_id=self._trigger(user_id, trigger_id),
        )
        return Prepared(self.commands_url, urlencode(form).encode(), FORM)

    def command(
        self,
        text: str,
        user_id: str,
        channel_id: str,
        command: str = "/incident",
        trigger_id: str | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
        sign_with: str | None = None,
        *,
        bad_signature: bool = False,
        response_url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        prepared = self.prepare_command(
            text, user_id, channel_id, command, trigger_id, response_url
        )
        opts = SendOptions(
            timestamp=timestamp,
            bad_signature=bad_signature,
            sign_with=sign_with,
            retry_num=retry_num,
            headers=headers or {},
        )
        return self._deliver(prepared, opts)

    async def acommand(
        self,
        text: str,
        user_id: str,
        channel_id: str,
        command: str = "/incident",
        trigger_id: str | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
        sign_with: str | None = None,
        *,
        bad_signature: bool = False,
        response_url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        prepared = self.prepare_command(
            text, user_id, channel_id, command, trigger_id, response_url
        )
        opts = SendOptions(
            timestamp=timestamp,
            bad_signature=bad_signature,
            sign_with=sign_with,
            retry_num=retry_num,
            headers=headers or {},
        )
        return await self._adeliver(prepared, opts)

    # -- interactivity ---------------------------------------------------------

    def _interaction(self, payload: Mapping[str, Any]) -> Prepared:
        body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
        return Prepared(self.interactions_url, body, FORM)

    def _find_block_id(self, message: Mapping[str, Any] | None, action_id: str) -> str | None:
        """The block holding `action_id` in the real message/view, as Slack reports it."""
        for block in (message or {}).get("blocks") or []:
            elements = list(block.get("elements") or [])
            for key in ("accessory", "element"):
                if key in block:
                    elements.append(block[key])
            if any(isinstance(e, dict) and e.get("action_id") == action_id for e in elements):
                return str(block.get("block_id")) if block.get("block_id") else None
        return None

    def prepare_block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user_id: str,
        channel_id: str | None = None,
        message_ts: str | None = None,
        selected_option: str | Mapping[str, Any] | None = None,
        selected_user: str | None = None,
        selected_users: list[str] | None = None,
        selected_date: str | None = None,
        block_id: str | None = None,
        action_type: str | None = None,
        view: Mapping[str, Any] | None = None,
        view_id: str | None = None,
        message: Mapping[str, Any] | None = None,
        state_values: Mapping[str, Mapping[str, Any]] | None = None,
        trigger_id: str | None = None,
        response_url: str | None = None,
    ) -> Prepared:
        if view is None and view_id is not None:
            if self.emulator is not None:
                view = self.emulator.view_json(view_id)
                if view is None:
                    raise LookupError(f"the emulator has no view {view_id}")
            else:
                view = payloads.modal_view(
                    self.ident, view_id=view_id, callback_id="", private_metadata="", values={}
                )
        if view is None and not channel_id:
            raise ValueError(
                "a block action comes from a message (channel_id) or a view (view/view_id)"
            )
        if view is None and message is None and channel_id and message_ts and self.emulator:
            message = self.emulator.message_json(channel_id, message_ts)
        source = view if view is not None else message
        action = payloads.action(
            action_id,
            block_id=block_id or self._find_block_id(source, action_id) or secrets.token_hex(2),
            value=value,
            action_type=action_type,
            selected_option=selected_option,
            selected_user=selected_user,
            selected_users=selected_users,
            selected_date=selected_date,
        )
        view_dict = dict(view) if view is not None else None
        if view_dict is not None and state_values is not None:
            view_dict["state"] = {"values": payloads.state_values(state_values)}
        payload = payloads.block_actions(
            self.ident,
            user_id=user_id,
            user_name=self._user_name(user_id),
            actions=[action],
            trigger_id=self._trigger(user_id, trigger_id),
            channel_id=channel_id,
            channel_name=self._channel_name(channel_id) if channel_id else None,
            message=dict(message) if message is not None else None,
            message_ts=message_ts,
            view=view_dict,
            response_url=None
            if view is not None
            else response_url or self._response_url(channel_id, user_id, message_ts),
            state_values=payloads.state_values(state_values or {}) if view is None else None,
        )
        return self._interaction(payload)

    def block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user_id: str,
        channel_id: str | None = None,
        message_ts: str | None = None,
        selected_option: str | Mapping[str, Any] | None = None,
        selected_user: str | None = None,
        block_id: str | None = None,
        view: Mapping[str, Any] | None = None,
        view_id: str | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
        sign_with: str | None = None,
        bad_signature: bool = False,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        """A click/selection on a message (channel_id + message_ts) or in a view.

        `extra` goes to `prepare_block_action` (selected_users, selected_date,
        action_type, message, state_values, trigger_id, response_url).
        """
        prepared = self.prepare_block_action(
            action_id,
            value,
            user_id=user_id,
            channel_id=channel_id,
            message_ts=message_ts,
            selected_option=selected_option,
            selected_user=selected_user,
            block_id=block_id,
            view=view,
            view_id=view_id,
            **extra,
        )
        opts = SendOptions(
            timestamp=timestamp,
            bad_signature=bad_signature,
            sign_with=sign_with,
            retry_num=retry_num,
            headers=headers or {},
        )
        return self._deliver(prepared, opts)

    async def ablock_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user_id: str,
        retry_num: int | None = None,
        timestamp: int | None = None,
        sign_with: str | None = None,
        bad_signature: bool = False,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        prepared = self.prepare_block_action(action_id, value, user_id=user_id, **extra)
        opts = SendOptions(
            timestamp=timestamp,
            bad_signature=bad_signature,
            sign_with=sign_with,
            retry_num=retry_num,
            headers=headers or {},
        )
        return await self._adeliver(prepared, opts)

    def prepare_view_submission(
        self,
        callback_id: str,
        values: Mapping[str, Mapping[str, Any]],
        user_id: str,
        private_metadata: str = "",
        view_id: str | None = None,
        *,
        blocks: list[dict[str, Any]] | None = None,
        title: str = "Modal",
        trigger_id: str | None = None,
        response_urls: list[dict[str, Any]] | None = None,
    ) -> Prepared:
        """`values` in Slack's state shape or the `{block: {action: "text"}}` shorthand.

        With an emulator and a `view_id` it opened, the submitted view carries that
        view's real blocks/title/metadata, as Slack's would.
        """
        base = self.emulator.view_json(view_id) if self.emulator and view_id else None
        view = payloads.modal_view(
            self.ident,
            view_id=view_id or f"V{secrets.token_hex(5).upper()}",
            callback_id=callback_id,
            private_metadata=private_metadata,
            values=values,
            blocks=blocks,
            title=title,
            base=base,
        )
        payload = payloads.view_submission(
            self.ident,
            user_id=user_id,
            user_name=self._user_name(user_id),
            view=view,
            trigger_id=self._trigger(user_id, trigger_id),
            response_urls=response_urls,
        )
        return self._interaction(payload)

    def view_submission(
        self,
        callback_id: str,
        values: Mapping[str, Mapping[str, Any]],
        user_id: str,
        private_metadata: str = "",
        view_id: str | None = None,
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
        sign_with: str | None = None,
        bad_signature: bool = False,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        prepared = self.prepare_view_submission(
            callback_id, values, user_id, private_metadata, view_id, **extra
        )
        opts = SendOptions(
            timestamp=timestamp,
            bad_signature=bad_signature,
            sign_with=sign_with,
            retry_num=retry_num,
            headers=headers or {},
        )
        return self._deliver(prepared, opts)

    async def aview_submission(
        self,
        callback_id: str,
        values: Mapping[str, Mapping[str, Any]],
        user_id: str,
        private_metadata: str = "",
        view_id: str | None = None,
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
        sign_with: str | None = None,
        bad_signature: bool = False,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        prepared = self.prepare_view_submission(
            callback_id, values, user_id, private_metadata, view_id, **extra
        )
        opts = SendOptions(
            timestamp=timestamp,
            bad_signature=bad_signature,
            sign_with=sign_with,
            retry_num=retry_num,
            headers=headers or {},
        )
        return await self._adeliver(prepared, opts)

    def interaction(
        self, payload: Mapping[str, Any], opts: SendOptions | None = None
    ) -> httpx.Response:
        """Any other interactive payload (shortcut, view_closed...), already built."""
        return self._deliver(self._interaction(payload), opts or SendOptions())

    async def ainteraction(
        self, payload: Mapping[str, Any], opts: SendOptions | None = None
    ) -> httpx.Response:
        return await self._adeliver(self._interaction(payload), opts or SendOptions())

    # -- Events API ------------------------------------------------------------

    def prepare_event(
        self,
        event: Mapping[str, Any],
        event_id: str | None = None,
        event_time: int | None = None,
    ) -> Prepared:
        envelope = payloads.event_callback(
            self.ident, event, event_id=event_id, event_time=event_time
        )
        return Prepared(self.events_url, json.dumps(envelope).encode(), JSON)

    def event(
        self,
        event: Mapping[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        *,
        retry_reason: str = "http_timeout",
        event_time: int | None = None,
        timestamp: int | None = None,
        sign_with: str | None = None,
        bad_signature: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """An `event_callback`; pass the same event_id + retry_num to play a Slack retry."""
        prepared = self.prepare_event(event, event_id, event_time)
        opts = SendOptions(
            timestamp=timestamp,
            bad_signature=bad_signature,
            sign_with=sign_with,
            retry_num=retry_num,
            retry_reason=retry_reason,
            headers=headers or {},
        )
        return self._deliver(prepared, opts)

    async def aevent(
        self,
        event: Mapping[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        *,
        retry_reason: str = "http_timeout",
        event_time: int | None = None,
        timestamp: int | None = None,
        sign_with: str | None = None,
        bad_signature: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        prepared = self.prepare_event(event, event_id, event_time)
        opts = SendOptions(
            timestamp=timestamp,
            bad_signature=bad_signature,
            sign_with=sign_with,
            retry_num=retry_num,
            retry_reason=retry_reason,
            headers=headers or {},
        )
        return await self._adeliver(prepared, opts)

    def url_verification(self, challenge: str | None = None) -> httpx.Response:
        body = payloads.url_verification(self.ident, challenge or secrets.token_urlsafe(32))
        return self._deliver(
            Prepared(self.events_url, json.dumps(body).encode(), JSON), SendOptions()
        )
