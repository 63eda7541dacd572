"""Answer Slack the moment a listener acks, and find the listener without ceremony.

Bolt's asyncio runner starts the listener as a task and then polls `ack.response` every
10 ms, so every answer waits for the next poll: 5 ms on average, 10 ms at worst, on top of
the work itself, and fifty waiting requests wake the loop 5,000 times a second for nothing.
Here the ack sets an event and the request wakes on it, or on the listener finishing (an
exception, or a listener that never acks). Everything else — start/completion handlers,
error handler, the 3 s ack timeout, lazy listeners — stays Bolt's.

Bolt also asks every listener in turn whether a request is its own, and each built-in
matcher (`command`, `action`, `view`, `event`) has its arguments injected by inspecting its
signature first: with warroom's two dozen listeners that inspection cost more than the rest
of the ack. The built-in matchers take only `body`, so they are called with it directly.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.listener_matcher.async_builtins import AsyncBuiltinListenerMatcher
from slack_bolt.logger.messages import warning_did_not_call_ack
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.adapters.priority import answered


class PromptAck(AsyncAck):
    """Bolt's ack, which also wakes the request waiting for it."""

    def __init__(self) -> None:
        super().__init__()
        self.done = asyncio.Event()

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        response = await super().__call__(*args, **kwargs)
        self.done.set()
        answered()  # the listener's work from here on can wait for other requests' acks
        return response


class PromptListenerRunner(AsyncioListenerRunner):
    async def run(
        self,
        request: AsyncBoltRequest,
        response: BoltResponse,
        listener_name: str,
        listener: AsyncListener,
        starting_time: float | None = None,
    ) -> BoltResponse | None:
        if self.process_before_response or request.lazy_only or listener.lazy_functions:
            return await super().run(request, response, listener_name, listener, starting_time)
        started = starting_time if starting_time is not None else time.time()
        ack = request.context.get("ack")
        if not isinstance(ack, PromptAck) or ack.response is not None:
            ack = PromptAck()
            request.context["ack"] = ack
        if listener.auto_acknowledgement:
            await ack()  # Events API: acknowledged at once, as Bolt does
        task = asyncio.ensure_future(self._run_listener(ack, request, response, listener))
        if ack.response is None:
            waiter = asyncio.ensure_future(ack.done.wait())
            left = max(0.0, listener.ack_timeout - (time.time() - started))
            try:
                await asyncio.wait({task, waiter}, timeout=left, return_when="FIRST_COMPLETED")
            finally:
                waiter.cancel()
        if ack.response is None:
            self.logger.warning(warning_did_not_call_ack(listener_name))
            return None
        if response is None:
            self._debug_log_completion(started, ack.response)
        return ack.response if response is None else response

    async def _run_listener(
        self,
        ack: AsyncAck,
        request: AsyncBoltRequest,
        response: BoltResponse,
        listener: AsyncListener,
    ) -> None:
        # Bolt's run_ack_function_asynchronously, unchanged in substance.
        try:
            await self.listener_start_handler.handle(request=request, response=response)
            await listener.run_ack_function(request=request, response=response)
        except Exception as exc:
            if response is None:
                response = BoltResponse(status=500)
            response.status = 500
            if ack.response is not None:  # already acknowledged
                response = None  # type: ignore[assignment]
            await self.listener_error_handler.handle(error=exc, request=request, response=response)
            ack.response = response
        finally:
            await self.listener_completion_handler.handle(request=request, response=response)


class DirectMatcher(AsyncBuiltinListenerMatcher):
    """A built-in matcher whose function takes only `body`, called without injection."""

    async def async_matches(self, req: AsyncBoltRequest, resp: BoltResponse) -> bool:
        return await self.func(body=req.body)  # type: ignore[misc]


def direct_matchers(app: Any) -> int:
    """Swap every body-only built-in matcher of the app's listeners; returns how many."""
    swapped = 0
    for listener in app._async_listeners:
        for index, matcher in enumerate(listener.matchers):
            if type(matcher) is AsyncBuiltinListenerMatcher and matcher.arg_names == ["body"]:
                fast = DirectMatcher.__new__(DirectMatcher)
                fast.__dict__.update(matcher.__dict__)
                listener.matchers[index] = fast
                swapped += 1
    return swapped


def use_prompt_acks(app: Any) -> None:
    """Swap the app's listener runner for ours, keeping its handlers and settings."""
    runner: AsyncioListenerRunner = app._async_listener_runner
    app._async_listener_runner = PromptListenerRunner(
        logger=runner.logger,
        process_before_response=runner.process_before_response,
        listener_error_handler=runner.listener_error_handler,
        listener_start_handler=runner.listener_start_handler,
        listener_completion_handler=runner.listener_completion_handler,
        lazy_listener_runner=runner.lazy_listener_runner,
    )
