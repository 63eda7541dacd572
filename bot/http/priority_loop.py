"""An asyncio event loop that runs Slack's requests before the work that can wait.

`bot.adapters.priority` marks which tasks can wait (a listener after its ack, background
loops) and counts the requests not yet answered. Pausing at Slack calls and sessions is not
enough on its own: between two such points a task runs many steps, and asyncio runs every
ready step once per round, first come first served, so fifty declarations in progress put
fifty steps in front of each step of a new request. This loop's ready queue hands out every
other step first. While a request waits for its answer, a step of work that can wait runs
only in a round that has nothing else to do, or when none has run for `STARVE_S` (so work
that a request is itself waiting for still moves); when nothing waits, everything runs as
usual. I/O callbacks and plain callbacks are never held back: they are short, and a
request's own reads arrive through them.
"""

from __future__ import annotations

import asyncio
import collections
import gc
from collections.abc import Coroutine
from typing import Any

from bot.adapters import priority

# Allocations between young-generation collections (CPython's default is 700).
GC_THRESHOLD = 20_000
# Longest that work which can wait is held back while requests keep the loop busy.
STARVE_S = 0.005
# Work that can wait stops a round after this long, so the loop looks for new requests
# (a request that arrives mid-round is only seen when the round ends).
ROUND_S = 0.001


def _can_wait(handle: asyncio.Handle) -> bool:
    task = getattr(handle._callback, "__self__", None)  # a task's step or wake-up
    return isinstance(task, asyncio.Task) and priority.deferrable(handle._context)


class _ReadyQueue:
    """Stands in for the loop's `_ready` deque: `_run_once` takes `len()` handles per round
    with `popleft()`; a held-back turn is answered with a cancelled handle, which it skips."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._now: collections.deque[asyncio.Handle] = collections.deque()
        self._later: collections.deque[asyncio.Handle] = collections.deque()
        # what this round may still take, counted when it starts: a handle added during the
        # round waits for the next, as in asyncio (a callback that re-adds itself every round
        # must not crowd out the work that can wait)
        self._now_left = 0
        self._later_left = 0
        self._later_ran = loop.time()  # when a step of work that can wait last ran
        self._round_started = loop.time()
        self._later_taken = 0  # steps of work that can wait taken this round
        self._skip = asyncio.Handle(lambda: None, (), loop)
        self._skip.cancel()

    def append(self, handle: asyncio.Handle) -> None:
        (self._later if _can_wait(handle) else self._now).append(handle)

    def __len__(self) -> int:
        # `_run_once` reads the length once per round and takes that many handles
        later = len(self._later)
        self._now_left = len(self._now)
        self._round_started = self._loop.time()
        self._later_taken = 0
        if not later or not priority.busy():
            self._later_left = later
        elif not self._now_left or self._round_started - self._later_ran >= STARVE_S:
            self._later_left = 1
        else:
            self._later_left = 0
        return self._now_left + self._later_left

    def __bool__(self) -> bool:
        return bool(self._now) or bool(self._later)

    def popleft(self) -> asyncio.Handle:
        if self._now_left > 0 and self._now:
            self._now_left -= 1
            return self._now.popleft()
        if self._later_left > 0 and self._later:
            now = self._loop.time()
            if self._later_taken and now - self._round_started > ROUND_S:
                self._later_left = 0  # the rest of this round's turns wait for the next
                return self._skip
            self._later_left -= 1
            self._later_taken += 1
            self._later_ran = now
            return self._later.popleft()
        return self._skip

    def clear(self) -> None:
        self._now.clear()
        self._later.clear()


class PriorityEventLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        super().__init__()
        self._ready = _ReadyQueue(self)  # type: ignore[assignment]


def run(main: Coroutine[Any, Any, Any]) -> Any:
    """Run the server. What start-up built (modules, settings, the app) lives as long as the
    process: frozen out of the collector's sight, and the collector asked to run less often,
    because a full collection over a large heap stalls every request for tens of ms."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)
    with asyncio.Runner(loop_factory=PriorityEventLoop) as runner:
        return runner.run(main)
