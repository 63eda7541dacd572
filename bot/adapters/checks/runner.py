"""Run every applicable check of the chosen services at once, under one deadline each.

A status reply is only useful if it arrives quickly and is complete: one hung check must
not delay the rest, and one crashing check must not lose the others' results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.adapters.catalog.model import Service
from bot.adapters.checks.base import Checker, Stopwatch
from bot.adapters.checks.reasons import first_line, plain_reason, timed_out
from incident.checks import CheckResult, CheckStatus

DEFAULT_TIMEOUT_S = 10.0


async def run_checks(
    services: Sequence[Service],
    checkers: Sequence[Checker],
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[CheckResult]:
    """Results in service order, then checker order, whatever order they finish in.

    The deadline is enforced with ``asyncio.wait`` rather than ``wait_for``: ``wait_for``
    waits for the cancelled check to finish unwinding, so a check that ignores
    cancellation (or is stuck in a thread) would still hold up the reply.
    """
    jobs = [(s, c) for s in services for c in checkers if c.applies_to(s)]
    if not jobs:
        return []
    watch = Stopwatch()
    tasks = [asyncio.create_task(_run_one(s, c), name=f"check:{s.name}:{c.name}") for s, c in jobs]
    try:
        _, pending = await asyncio.wait(tasks, timeout=timeout_s)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        raise
    for task in pending:
        task.cancel()
        task.add_done_callback(_consume)

    results: list[CheckResult] = []
    for (service, checker), task in zip(jobs, tasks, strict=True):
        if task in pending:
            results.append(
                CheckResult(
                    service.name, checker.name, CheckStatus.FAIL, timed_out(timeout_s), watch.ms
                )
            )
        else:
            results.append(task.result())
    return results


async def _run_one(service: Service, checker: Checker) -> CheckResult:
    watch = Stopwatch()
    try:
        return await checker.check(service)
    except Exception as exc:
        return CheckResult(
            service.name,
            checker.name,
            CheckStatus.FAIL,
            _crash_reason(exc),
            watch.ms,
            {"error": type(exc).__name__},
        )


def _crash_reason(exc: Exception) -> str:
    """A bug in a checker reads as "KeyError: 'x'" rather than a bare "'x'"."""
    reason = plain_reason(exc)
    if reason == first_line(exc) and reason != type(exc).__name__:
        return f"{type(exc).__name__}: {reason}"
    return reason


def _consume(task: asyncio.Task[CheckResult]) -> None:
    # Read the outcome of an abandoned check so asyncio does not log "never retrieved".
    if not task.cancelled():
        task.exception()
