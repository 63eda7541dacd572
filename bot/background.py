"""Background loops every replica runs (reminders, escalations, follow-ups). Modules add a
factory with `@background_task`; the server starts them at start-up and cancels them on
shutdown. Loops must be safe to run in several replicas at once (use bot.locks)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from bot.logging_setup import get_logger
from bot.services import Services

log = get_logger(__name__)
TaskFactory = Callable[[Services], Awaitable[None]]
_FACTORIES: dict[str, TaskFactory] = {}


def background_task(name: str) -> Callable[[TaskFactory], TaskFactory]:
    def wrap(fn: TaskFactory) -> TaskFactory:
        _FACTORIES[name] = fn
        return fn

    return wrap


async def _guarded(name: str, factory: TaskFactory, services: Services) -> None:
    """A loop that crashes is restarted after a pause; it never takes the server down."""
    while True:
        try:
            await factory(services)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("background task crashed", task=name, error_type=type(exc).__name__)
            await asyncio.sleep(5)


# Modules whose loops every replica runs; imported here so registering one is one line.
LOOP_MODULES = ("bot.reminders", "bot.review_reminders")


def start_all(services: Services) -> list[asyncio.Task]:
    import importlib

    for name in LOOP_MODULES:
        importlib.import_module(name)
    if services.extras.get("background_disabled"):
        return []
    return [
        asyncio.create_task(_guarded(name, f, services), name=name)
        for name, f in _FACTORIES.items()
    ]


async def stop_all(tasks: list[asyncio.Task]) -> None:
    for t in tasks:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await t
