"""Interactive payloads the way Slack posts them: block_actions (message or view) and
view_submissions, form-encoded `payload=<json>`. Layered on the transport; import
SlackDriver from `warroom_sandbox.slack_driver`."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from warroom_sandbox.slack_driver_transport import FORM, Prepared, SendOptions, SlackTransport
from warroom_sandbox.slack_emulator import payloads


class SlackInteractions(SlackTransport):
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
