"""Graceful shutdown of `warroom serve`.

On SIGTERM (Kubernetes, `docker stop`) or the first Ctrl+C:

1. *draining*: `/healthz` answers 503 `"draining"` so a load balancer stops sending; the
   listener stays open for ``WARROOM_SHUTDOWN_DELAY_S`` (default 0: in Kubernetes the preStop
   hook already waits for the endpoints to be removed).
2. *stop accepting*: uvicorn closes the listener and lets in-flight requests finish.
3. *post-ack work*: Bolt acks first and runs the listener on as an asyncio task (a declaration's
   Slack steps, a repair, a rollout being followed). Every task created while a Slack request is
   being handled is tracked here and given until the deadline to finish; what is still running
   then is cancelled (its state is in Postgres step by step, so `/incident repair` or the other
   replica continues it).
4. background loops stop (bot.background), then the database, Redis and HTTP clients close.

Socket Mode (`SLACK_APP_TOKEN`) drains the same way: `SocketModeDrain` handles each envelope
inside `Drain.request()`, so its post-ack work is tracked like an HTTP request's, and at
"stop accepting" the socket is closed once the envelopes in flight are acked (Slack then
delivers to the other replicas).

The whole drain is bounded by ``WARROOM_SHUTDOWN_GRACE_S`` (default 20 s, under Kubernetes'
default terminationGracePeriodSeconds of 30 s). A second Ctrl+C exits at once. Each phase
logs one line ("shutdown", phase=...).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from types import FrameType
from typing import Any

import structlog
import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.config import ShutdownConfig
from bot.logging_setup import get_logger
from bot.services import Services

log = get_logger("warroom.shutdown")

CLOSE_TIMEOUT_S = 3.0  # for closing the clients, and for tasks cancelled at the deadline

# True in the context of a Slack request: tasks created there are post-ack work.
_IN_REQUEST: ContextVar[bool] = ContextVar("warroom_in_request", default=False)


class Drain:
    """The shutdown state of one server: draining flag, in-flight requests, post-ack tasks."""

    def __init__(self, settings: ShutdownConfig | None = None) -> None:
        self.settings = settings or ShutdownConfig()
        self.draining = False
        self.reason: str | None = None
        self.started: float | None = None
        self.deadline: float | None = None
        self.in_flight = 0  # Slack requests not answered yet
        self.handled = 0
        self._work: set[asyncio.Task[Any]] = set()  # strong refs: Bolt drops its futures
        self._previous_factory: Any = None
        self.quiet = False  # stopped in-process (tests, sandbox): phases at debug level
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- tracking ------------------------------------------------------------

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Track tasks created while a Slack request is handled (a task factory)."""
        loop = loop or asyncio.get_running_loop()
        self._loop = loop
        self._previous_factory = loop.get_task_factory()
        previous = self._previous_factory

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task:
            if previous is not None:
                task = previous(loop, coro, **kwargs)
            else:
                task = asyncio.Task(coro, loop=loop, **kwargs)
            context = kwargs.get("context")
            tracked = context.get(_IN_REQUEST, False) if context is not None else _IN_REQUEST.get()
            if tracked:
                self._work.add(task)
                task.add_done_callback(self._work.discard)
            return task

        loop.set_task_factory(factory)

    def uninstall(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.set_task_factory(self._previous_factory)
        self._loop = None

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """Around the handling of one Slack request."""
        token = _IN_REQUEST.set(True)
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            self.handled += 1
            _IN_REQUEST.reset(token)

    def track(self, task: asyncio.Task[Any]) -> None:
        """Drain a task created outside a request's context (a Socket Mode envelope's)."""
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    @property
    def pending_work(self) -> list[asyncio.Task[Any]]:
        return [t for t in self._work if not t.done()]

    # -- phases --------------------------------------------------------------

    def begin(self, reason: str) -> None:
        """Phase 1: from now on /healthz says draining; the deadline starts."""
        if self.started is not None:
            return
        self.draining = True
        self.reason = reason
        self.started = time.monotonic()
        self.deadline = self.started + self.settings.delay_s + self.settings.grace_s
        self.log(
            phase="draining",
            reason=reason,
            grace_s=self.settings.grace_s,
            delay_s=self.settings.delay_s,
            in_flight_requests=self.in_flight,
            post_ack_tasks=len(self.pending_work),
        )

    def log(self, **fields: Any) -> None:
        """One line per phase: info under a signal, debug for in-process servers."""
        (log.debug if self.quiet else log.info)("shutdown", **fields)

    def remaining(self) -> float:
        if self.deadline is None:
            return self.settings.grace_s
        return max(0.0, self.deadline - time.monotonic())

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 3) if self.started is not None else 0.0

    async def finish_work(self) -> tuple[int, int]:
        """Phase 3: wait for post-ack tasks until the deadline, then cancel the rest.
        Returns (finished, abandoned)."""
        if self.started is None:  # an in-process server stopped without a signal
            self.quiet = True
            self.begin("lifespan")
        pending = self.pending_work
        self.log(
            phase="requests_drained",
            in_flight_requests=self.in_flight,
            post_ack_tasks=len(pending),
            elapsed_s=self.elapsed(),
        )
        finished = 0
        # tasks may spawn more tasks while we wait: loop until none is left or time is up
        while pending and self.remaining() > 0:
            done, _ = await asyncio.wait(
                pending, timeout=self.remaining(), return_when=asyncio.ALL_COMPLETED
            )
            finished += len(done)
            pending = self.pending_work
        abandoned = len(pending)
        for task in pending:
            task.cancel("warroom is shutting down")
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_TIMEOUT_S)
        self.log(
            phase="post_ack_work_done",
            finished=finished,
            abandoned=abandoned,
            abandoned_tasks=[t.get_name() for t in pending][:10],
            elapsed_s=self.elapsed(),
        )
        return finished, abandoned


async def close_clients(services: Services) -> list[str]:
    """Phase 4b: close the clients warroom opened (Kubernetes API clients, the database pool,
    Redis). Bounded, because a peer that stopped answering must not hold the exit past the
    grace period; a failure is logged, never raised."""
    try:
        await asyncio.wait_for(services.close(), CLOSE_TIMEOUT_S)
    except Exception as exc:
        log.warning("shutdown close failed", client="services", error_type=type(exc).__name__)
        return []
    return ["services"]


class SocketModeDrain(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler under the drain. Bolt acks an envelope and runs the
    listener on as a task; without `Drain.request()` around the dispatch that task would not
    be tracked, and SIGTERM would cancel a declaration half-way in Socket Mode only."""

    def __init__(self, app: AsyncApp, app_token: str, drain: Drain) -> None:
        super().__init__(app, app_token)
        self.drain = drain
        self._closed = False
        self._envelopes: set[asyncio.Task[Any]] = set()  # being handled, not acked yet

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(trace_id=req.envelope_id[:16])
        current = asyncio.current_task()
        if current is not None:
            self.drain.track(current)  # the envelope itself, until it is acked
            self._envelopes.add(current)
        try:
            with self.drain.request():
                await super().handle(client, req)
        finally:
            self._envelopes.discard(current)  # type: ignore[arg-type]

    async def stop_receiving(self) -> None:
        """Wait (within the grace period) for envelopes in flight to be acked, then close the
        socket: what is not acked is redelivered by Slack, to another connection."""
        envelopes = [t for t in self._envelopes if not t.done()]
        if envelopes:
            await asyncio.wait(envelopes, timeout=self.drain.remaining())
        await self.close()

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.close_async()


class WarroomServer(uvicorn.Server):
    """uvicorn's server with warroom's drain: SIGTERM marks the drain first, stops accepting
    after the configured delay, and does not re-raise the signal once the drain is done (so
    the process exits 0 after a clean shutdown). ``on_stop_accepting`` stops other intake
    (the Socket Mode connection) at the same moment."""

    def __init__(
        self,
        config: uvicorn.Config,
        drain: Drain,
        *,
        on_stop_accepting: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(config)
        self.drain = drain
        self.on_stop_accepting = on_stop_accepting
        self._stopping: asyncio.Task[None] | None = None  # a strong ref
        self._serving_loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: Any = None) -> None:
        self._serving_loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # a signal handler: no logging here (re-entrant writes); hand over to the loop
        if self.should_exit or self.drain.draining:
            if sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl+C: stop now
            return
        loop = self._serving_loop
        if loop is None or loop.is_closed():
            self.should_exit = True
            return
        self.drain.draining = True  # /healthz says so from the next request on
        # a fresh context: not the trace_id of whatever request the signal interrupted
        loop.call_soon_threadsafe(
            self._begin, signal.Signals(sig).name, context=contextvars.Context()
        )

    def _begin(self, reason: str) -> None:
        self.drain.begin(reason)
        loop = asyncio.get_running_loop()
        if self.drain.settings.delay_s > 0:
            loop.call_later(self.drain.settings.delay_s, self._stop_accepting)
        else:
            self._stop_accepting()

    def _stop_accepting(self) -> None:
        # what is left of the grace period is uvicorn's for in-flight requests
        self.config.timeout_graceful_shutdown = max(0.5, self.drain.remaining())  # type: ignore[assignment]
        self.drain.log(
            phase="stop_accepting",
            in_flight_requests=self.drain.in_flight,
            post_ack_tasks=len(self.drain.pending_work),
            elapsed_s=self.drain.elapsed(),
        )
        if self.on_stop_accepting is not None and self._stopping is None:
            self._stopping = asyncio.ensure_future(self.on_stop_accepting())
        self.should_exit = True
