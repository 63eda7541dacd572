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

from aiohttp import ClientConnectorError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

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


def make_client(token: str, base_url: str, *, timeout: int = 10) -> AsyncWebClient:
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            SafeServerErrorRetryHandler(max_retry_count=2),
            SafeConnectionErrorRetryHandler(max_retry_count=1),
        ],
    )
