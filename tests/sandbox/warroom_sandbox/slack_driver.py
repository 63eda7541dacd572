"""Play Slack's side of the app's HTTP endpoint: signed slash commands,
block_actions, view_submissions and Events API callbacks, byte-for-byte the way
Slack sends them (form bodies, `payload=<json>`, v0 signatures, retry headers).

With an emulator attached, response_urls and trigger_ids are real emulator
ones, so what the app does with them (respond(), views.open) lands in the
emulator where tests can assert on it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from warroom_sandbox.slack_driver_interactions import SlackInteractions
from warroom_sandbox.slack_driver_transport import (
    FORM,
    JSON,
    USER_AGENT,
    EmulatorLike,
    Prepared,
    SendOptions,
    SlackTransport,
    reaction_event,
)
from warroom_sandbox.slack_emulator import payloads

__all__ = [
    "FORM",
    "JSON",
    "USER_AGENT",
    "EmulatorLike",
    "Prepared",
    "SendOptions",
    "SlackDriver",
    "SlackInteractions",
    "SlackTransport",
    "reaction_event",
]


class SlackDriver(SlackInteractions):
    """Slack's side of the app's endpoint: slash commands and Events API callbacks here,
    interactivity and delivery in the classes below it."""

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
