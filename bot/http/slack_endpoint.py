"""`POST /slack/events` as a bare ASGI endpoint: the body goes straight into a Bolt request and
Bolt's answer straight onto the wire.

Every Slack delivery comes through here, and the 📌 path (bench/timeline_ingest.py) spent a
tenth of its CPU building Starlette's Request and Response and Bolt's Starlette adapter's
copies of them, only to hand Bolt a string and a dict of headers.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.adapters import priority
from bot.http.app import WarroomApp
from bot.http.shutdown import Drain
from bot.logging_setup import get_logger

log = get_logger(__name__)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def _body(receive: Receive) -> bytes | None:
    """The whole request body; None when the client went away first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _headers(scope: Scope) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in scope.get("headers") or []:
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return headers


async def _answer(send: Send, response: BoltResponse) -> None:
    body = response.body if isinstance(response.body, bytes) else str(response.body).encode()
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.first_headers_without_set_cookie().items()
        if name.lower() != "content-length"
    ]
    headers.append((b"content-length", str(len(body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SlackEndpoint:
    """The ASGI app of the `/slack/events` route."""

    def __init__(self, bolt: WarroomApp, drain: Drain) -> None:
        self.bolt = bolt
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self._answer_for(scope, receive)
        except Exception as exc:  # a bug of ours: logged, and Slack gets a plain 500
            log.error("slack request failed", error_type=type(exc).__name__)
            response = BoltResponse(status=500, body={"error": "internal"})
        if response is not None:
            await _answer(send, response)

    async def _answer_for(self, scope: Scope, receive: Receive) -> BoltResponse | None:
        """Bolt's answer; None when the client went away before sending its body."""
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(trace_id=os.urandom(8).hex())
        with self.drain.request(), priority.answering():
            body = await _body(receive)
            if body is None:
                return None
            headers = _headers(scope)
            try:
                request = AsyncBoltRequest(
                    body=body.decode("utf-8"),
                    query=scope.get("query_string", b"").decode("latin-1"),
                    headers=headers,  # type: ignore[arg-type]
                )
            except (ValueError, TypeError, AttributeError) as exc:
                # invalid JSON or UTF-8, a payload that is not an object: Bolt cannot read it
                response = self.bolt.unreadable(body, headers, exc)
            else:
                response = await self.bolt.async_dispatch(request)
        return response
