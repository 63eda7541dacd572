"""Background loops every replica runs (reminders, escalations, follow-ups). Modules add a
factory with `@background_task`; the server starts them at start-up and cancels them on
shutdown. Loops must be safe to run in several replicas at once (use bot.locks).

A loop that waits with `await background.idle(seconds)` instead of `asyncio.sleep` is stopped
only there, between two rounds of work, so a shutdown never cuts a round in half (a reminder
claimed but not sent); loops that never call `idle` are cancelled at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from bot.logging_setup import get_logger
from bot.services import Services

log = get_logger(__name__)
TaskFactory = Callable[[Services], Awaitable[None]]
_FACTORIES: dict[str, TaskFactory] = {}
_COOPERATIVE: set[str] = set()


def background_task(
    name: str, *, stops_at_idle: bool = False
) -> Callable[[TaskFactory], TaskFactory]:
    """``stops_at_idle=True``: the loop waits with `idle()`, so a shutdown lets its current
    round finish even before it first reached `idle()`."""

    def wrap(fn: TaskFactory) -> TaskFactory:
        _FACTORIES[name] = fn
        if stops_at_idle:
            _COOPERATIVE.add(name)
        return fn

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


async def _run_loop(name: str, factory: TaskFactory, services: Services) -> None:
    ctl = _Control(cooperative=name in _COOPERATIVE)
    _CONTROL.set(ctl)  # this task's own context
    task = asyncio.current_task()
    assert task is not None
    _CONTROLS[task] = ctl
    try:
        await _guarded(name, factory, services)
    except _Stop:
        return
    finally:
        _CONTROLS.pop(task, None)


# Modules whose loops every replica runs; imported here so registering one is one line.
LOOP_MODULES = (
    "bot.flows.reminders.loop",
    "bot.flows.reminders.review",
    "bot.flows.operations.watch",
)


def start_all(services: Services) -> list[asyncio.Task]:
    import importlib

    for name in LOOP_MODULES:
        importlib.import_module(name)
    if services.extras.get("background_disabled"):
        return []
    return [
        asyncio.create_task(_run_loop(name, f, services), name=name)
        for name, f in _FACTORIES.items()
    ]


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
