"""Waiting for rounds of the background loops (reminders, escalations, aftercare) instead of
a fixed sleep: "nothing more is sent" holds once every replica named has run several whole
ticks after the moment of asking, whatever the machine's load.

Each loop's `run` calls its module's `tick` by name, so wrapping `tick` here (once per
process, behaviour unchanged) lets a test count the ticks each replica (`Services`) finished.
Replicas in the test process only (the testbed's app, `start_second_app`)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import bot.flows.aftercare.loop as aftercare_loop
import bot.flows.oncall.loop as escalation_loop
import bot.flows.reminders.loop as reminder_loop

LOOPS: dict[str, ModuleType] = {
    "reminders": reminder_loop,
    "escalations": escalation_loop,
    "aftercare": aftercare_loop,
}

_lock = threading.Lock()
_finished: Counter[tuple[str, int]] = Counter()


def _counted(name: str, tick: Callable[[Any], Awaitable[int]]) -> Callable[[Any], Awaitable[int]]:
    async def counted(services: Any) -> int:
        try:
            return await tick(services)
        finally:
            with _lock:
                _finished[name, id(services)] += 1

    counted.__wrapped__ = tick  # type: ignore[attr-defined]
    counted.counts_rounds = True  # type: ignore[attr-defined]
    return counted


def _install() -> None:
    for name, module in LOOPS.items():
        if not getattr(module.tick, "counts_rounds", False):
            module.tick = _counted(name, module.tick)


_install()


def finished(loop: str, services: Any) -> int:
    with _lock:
        return _finished[loop, id(services)]


def settle(
    loop: str,
    *services: Any,
    rounds: int = 5,
    at_least_s: float = 0.3,
    timeout: float = 30.0,
) -> None:
    """Return once each of ``services`` finished ``rounds`` ticks of ``loop`` that started
    after this call (a tick under way now counts for at most one), and at least
    ``at_least_s`` passed (for post-ack work of a button or command, not done by a tick)."""
    assert loop in LOOPS and services
    started = time.monotonic()
    start = {id(s): finished(loop, s) for s in services}
    deadline = started + timeout
    while True:
        behind = [s for s in services if finished(loop, s) < start[id(s)] + rounds + 1]
        if not behind and time.monotonic() - started >= at_least_s:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(behind)} replica(s) did not run {rounds} {loop} ticks in {timeout} s"
            )
        time.sleep(0.01)
