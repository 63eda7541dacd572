"""The driver's transport: signed HTTP delivery (sync and async), retries the way Slack
retries, and names and ids from the emulator. Split from slack_driver so each module keeps
one concern; import everything from `warroom_sandbox.slack_driver`."""

from __future__ import annotations

import asyncio
import secrets
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, Self

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


class SlackTransport:
    """Signing and delivery, and the Slack-issued ids the emulator hands out; the
    payload builders are layered on top (slack_driver_interactions, slack_driver)."""

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

    def __enter__(self) -> Self:
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
