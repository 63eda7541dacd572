"""Async entry points: the sync client runs in worker threads so the Slack loop never blocks."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from kubernetes.client import ApiClient

from bot.adapters.kube.models import RolloutOutcome, RolloutProgress
from bot.adapters.kube.rollout import follow_rollout

P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


def threaded(fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    return wrapper


async def follow_rollout_async(
    api: ApiClient,
    namespace: str,
    name: str,
    timeout_s: float = 300.0,
    poll_s: float = 2.0,
    on_progress: Callable[[RolloutProgress], Awaitable[None] | None] | None = None,
    **kwargs: Any,
) -> RolloutOutcome:
    """on_progress runs on the caller's event loop (it may be a coroutine function)."""
    loop = asyncio.get_running_loop()
    pending: list[concurrent.futures.Future[None]] = []

    def relay(progress: RolloutProgress) -> None:
        if on_progress is None:
            return

        async def deliver() -> None:
            result = on_progress(progress)
            if inspect.isawaitable(result):
                await result

        pending.append(asyncio.run_coroutine_threadsafe(deliver(), loop))

    outcome = await asyncio.to_thread(
        follow_rollout, api, namespace, name, timeout_s, poll_s, relay, **kwargs
    )
    for future in pending:
        await asyncio.wrap_future(future)
    return outcome
