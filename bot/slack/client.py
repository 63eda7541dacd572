"""The Slack Web API client: slack_sdk with its retry handlers, pointed at SLACK_API_URL.

Retried where safe: a 429 (after Retry-After: Slack did nothing) and a connection that never
reached Slack, for every method; but a 5xx, a timeout or a dropped connection after the
request was sent only for methods that are reads or idempotent. Slack may have done a
`chat.postMessage` or `conversations.create` that answered 500 or timed out ("it's possible
some aspect of the operation succeeded"), and doing it again would post twice; those failures
reach the caller as SlackApiError, which tells the person (and `/incident repair` finds what
Slack did).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from aiohttp import ClientConnectorError, ClientError, ClientSession, ClientTimeout, TCPConnector
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_internal_utils import _request_with_session
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.web.internal_utils import _get_headers, _get_url

from bot.adapters.priority import yield_to_acks

KEEPALIVE_S = 4.0

# Doing these twice has the effect of doing them once (or fails harmlessly: already_pinned,
# already_in_channel).
IDEMPOTENT = frozenset(
    {
        "auth.test",
        "conversations.history",
        "conversations.info",
        "conversations.invite",
        "conversations.join",
        "conversations.list",
        "conversations.members",
        "conversations.replies",
        "conversations.setTopic",
        "chat.update",
        "pins.add",
        "reactions.get",
        "usergroups.list",
        "usergroups.users.list",
        "users.info",
        "users.list",
        "views.update",
    }
)


# Reads taken straight from one aiohttp request when Slack answers 200 with JSON: the 📌 path
# looks up every pinned message, and slack_sdk's layers (URL join, deprecation check, request
# and response copies, three retry handlers asked about every answer) cost as much as the
# request itself. Anything else — a 429, a 5xx, a dropped connection, a body that is not JSON
# — goes through slack_sdk's path and its retry handlers, which for a read is safe.
LEAN_READS = frozenset(
    {"conversations.history", "conversations.replies", "conversations.info", "reactions.get"}
)
RETRY_AFTER_MAX_S = 60.0


def _query_value(value: Any) -> Any:
    return ("1" if value else "0") if isinstance(value, bool) else value


def method_of(request: HttpRequest) -> str:
    return request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class SafeServerErrorRetryHandler(AsyncServerErrorRetryHandler):
    """slack_sdk's handler retries a 500/503 for every method: only reads and idempotent
    writes here, for a 5xx does not say the write did not happen."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if method_of(request) not in IDEMPOTENT:
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


class SafeConnectionErrorRetryHandler(AsyncConnectionErrorRetryHandler):
    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if error is None:
            return False
        if isinstance(error, ClientConnectorError):
            return True  # never reached Slack
        if method_of(request) not in IDEMPOTENT:
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


class PoliteWebClient(AsyncWebClient):
    """Calls made by work that can wait let the Slack requests waiting for their answer go
    first (bot.adapters.priority); a listener's calls before its ack are never held.

    Calls reuse connections: without a session slack_sdk opens (and, against Slack, TLS-
    handshakes) a new connection for every call. One session per event loop, because an
    aiohttp session belongs to the loop that made it (tests run several)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ClientSession] = (
            weakref.WeakKeyDictionary()
        )
        self._urls: dict[str, str] = {}

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        await yield_to_acks()
        if (
            api_method in LEAN_READS
            and kwargs.get("http_verb") == "GET"
            and kwargs.keys()
            <= {
                "http_verb",
                "params",
            }
        ):
            answer = await self._lean_read(api_method, kwargs.get("params") or {})
            if answer is not None:
                return answer
        return await super().api_call(api_method, **kwargs)

    async def _lean_read(self, api_method: str, params: dict[str, Any]) -> Any:
        """The read's answer, or None to have slack_sdk make it (after Retry-After on a 429)."""
        url = self._urls.get(api_method)
        if url is None:
            url = self._urls[api_method] = _get_url(self.base_url, api_method)
        given = {**self.default_params, **params}
        query = {k: _query_value(v) for k, v in given.items() if v is not None}
        headers = _get_headers(
            headers=self.headers,
            token=self.token,
            has_json=False,
            has_files=False,
            request_specific_headers=None,
        )
        session = self.session or self._loop_session()
        try:
            async with session.get(
                url, params=query, headers=headers, ssl=self.ssl, proxy=self.proxy
            ) as res:
                if res.status == 429:
                    wait = float(res.headers.get("Retry-After") or 1)
                    await asyncio.sleep(min(max(wait, 0.0), RETRY_AFTER_MAX_S))
                    return None
                if res.status != 200 or res.content_type != "application/json":
                    return None
                body = await res.json()
                answer_headers = res.headers
        except (ClientError, TimeoutError, ValueError):
            return None
        return AsyncSlackResponse(
            client=self,
            http_verb="GET",
            api_url=url,
            req_args={"params": query},
            data=body,
            headers=answer_headers,  # type: ignore[arg-type]
            status_code=200,
        ).validate()

    def _loop_session(self) -> ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            session = ClientSession(
                timeout=ClientTimeout(total=self.timeout),
                # idle connections are dropped before servers usually drop them (5 s)
                connector=TCPConnector(limit=50, keepalive_timeout=KEEPALIVE_S),
            )
            self._sessions[loop] = session
        return session

    async def _request(self, *, http_verb: str, api_url: str, req_args: dict) -> dict[str, Any]:
        return await _request_with_session(
            current_session=self.session or self._loop_session(),
            timeout=self.timeout,
            logger=self._logger,
            http_verb=http_verb,
            api_url=api_url,
            req_args=req_args,
            retry_handlers=self.retry_handlers,
        )

    async def close_sessions(self) -> None:
        """Close this loop's session (the others belong to loops that are gone or stop
        themselves)."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None and not session.closed:
            await session.close()


def make_client(token: str, base_url: str, *, timeout: int = 10) -> AsyncWebClient:
    return PoliteWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            SafeServerErrorRetryHandler(max_retry_count=2),
            SafeConnectionErrorRetryHandler(max_retry_count=1),
        ],
    )
