"""Background loops every replica runs (reminders, escalations, follow-ups). A loop function
is declared with `@background_task` (its name, and how it stops); the server starts the
explicit list it is handed (`bot.flows.loops.LOOPS`) and cancels them on shutdown. Loops must
be safe to run in several replicas at once (use bot.locks).

A loop that waits with `await background.idle(seconds)` instead of `asyncio.sleep` is stopped
only there, between two rounds of work, so a shutdown never cuts a round in half (a reminder
claimed but not sent); loops that never call `idle` are cancelled at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass

from bot.adapters import priority
from bot.logging_setup import get_logger
from bot.services import Services

log = get_logger(__name__)
TaskFactory = Callable[[Services], Awaitable[None]]


@dataclass(frozen=True)
class Loop:
    """A loop function with what the server needs to run it; calling it runs the function
    (tests and the sandbox run a loop by hand)."""

    name: str
    run: TaskFactory
    stops_at_idle: bool = False

    def __call__(self, services: Services) -> Awaitable[None]:
        return self.run(services)


def background_task(name: str, *, stops_at_idle: bool = False) -> Callable[[TaskFactory], Loop]:
    """Declares a loop; it runs only when listed in what the server hands `start_all`.
    ``stops_at_idle=True``: the loop waits with `idle()`, so a shutdown lets its current
    round finish even before it first reached `idle()`."""

    def wrap(fn: TaskFactory) -> Loop:
        return Loop(name, fn, stops_at_idle)

    return wrap


@dataclass
class _Control:
    """One loop's stop state; lives in the loop task's context."""

    cooperative: bool = False  # has called idle() at least once
    idle: bool = False  # waiting in idle() right now
    stopping: bool = False


class _Stop(BaseException):
    """Raised from idle() once a stop was asked: the loop ends between two rounds."""


_CONTROL: ContextVar[_Control | None] = ContextVar("warroom_background_control", default=None)
_CONTROLS: dict[asyncio.Task, _Control] = {}


async def idle(seconds: float) -> None:
    """Sleep between two rounds of a background loop; where a shutdown stops the loop."""
    ctl = _CONTROL.get()
    if ctl is None:
        await asyncio.sleep(seconds)
        return
    ctl.cooperative = True
    if ctl.stopping:
        raise _Stop
    ctl.idle = True
    try:
        await asyncio.sleep(seconds)
    finally:
        ctl.idle = False
    if ctl.stopping:
        raise _Stop


def _schedulers_paused(services: Services) -> bool:
    return services.reminders_paused  # the sandbox and tests stop this process's schedulers


async def every(
    services: Services,
    *,
    interval: Callable[[Services], float],
    tick: Callable[[Services], Awaitable[object]],
    what: str,
    paused: Callable[[Services], bool] = _schedulers_paused,
    max_sleep_s: float = 1.0,
) -> None:
    """The scheduler loops' (reminders, escalations, aftercare) one body, so their pause,
    pacing and stopping point cannot drift apart: unless ``paused``, call ``tick`` once per
    ``interval``, both read each round (tests and the sandbox change them on a running
    process); a failed tick is logged as ``what`` and the next one picks everything up
    (Postgres down); wait in `idle()`, never more than ``max_sleep_s``, so a shorter interval
    or a shutdown is seen within ``max_sleep_s``."""
    last = 0.0
    while True:
        if not paused(services) and time.monotonic() - last >= interval(services):
            last = time.monotonic()
            try:
                await tick(services)
            except Exception as exc:
                log.warning(what, error_type=type(exc).__name__)
        await idle(min(interval(services), max_sleep_s))


async def _guarded(name: str, factory: TaskFactory, services: Services) -> None:
    """A loop that crashes is restarted after a pause; it never takes the server down."""
    while True:
        try:
            await factory(services)
            return
        except (asyncio.CancelledError, _Stop):
            raise
        except Exception as exc:
            log.error("background task crashed", task=name, error_type=type(exc).__name__)
            await idle(5)


async def _run_loop(loop: Loop, services: Services) -> None:
    ctl = _Control(cooperative=loop.stops_at_idle)
    _CONTROL.set(ctl)  # this task's own context
    priority.can_wait()  # a loop's round gives way to Slack requests waiting for an answer
    task = asyncio.current_task()
    assert task is not None
    _CONTROLS[task] = ctl
    try:
        await _guarded(loop.name, loop.run, services)
    except _Stop:
        return
    finally:
        _CONTROLS.pop(task, None)


def start_all(services: Services, loops: Iterable[Loop]) -> list[asyncio.Task]:
    """One task per loop; none when `services.background_enabled` is off (the sandbox and
    some tests run loops by hand)."""
    if not services.background_enabled:
        return []
    return [asyncio.create_task(_run_loop(loop, services), name=loop.name) for loop in loops]


async def stop_all(tasks: list[asyncio.Task], grace_s: float = 0.0) -> dict[str, int]:
    """Stop every loop: a loop waiting in idle() ends now, one in the middle of a round gets
    up to ``grace_s`` seconds to reach idle(), a loop that never calls idle() is cancelled.
    Returns how many loops stopped between two rounds and how many were cut mid-round."""
    deadline = time.monotonic() + grace_s
    cut: list[asyncio.Task] = []  # cancelled in the middle of whatever they were doing
    between_rounds: list[asyncio.Task] = []  # cancelled while waiting in idle()
    busy: list[asyncio.Task] = []
    for t in tasks:
        ctl = _CONTROLS.get(t)
        if t.done():
            continue
        if ctl is not None and ctl.cooperative and ctl.idle:
            between_rounds.append(t)
        elif ctl is None or not ctl.cooperative:
            cut.append(t)
        else:
            ctl.stopping = True
            busy.append(t)
    if busy:
        _, late = await asyncio.wait(busy, timeout=max(0.0, deadline - time.monotonic()))
        cut.extend(late)
    for t in between_rounds + cut:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await t
    return {"loops": len(tasks), "stopped_between_rounds": len(tasks) - len(cut), "cut": len(cut)}
