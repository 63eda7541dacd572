"""Acks first: work that can wait steps aside while a Slack request is waiting for its answer.

One event loop serves both the requests Slack is timing (3 s, and every millisecond is felt
at the keyboard) and the work they started (channels, cards, timeline writes, loops). Left
alone, asyncio runs them first-come first-served, so a burst of declarations makes every
following ack queue behind their Slack and Postgres calls. Here the work that can wait —
anything after an ack, and the background loops — pauses at its next Slack call or session
while any request is still unanswered, for at most `MAX_PAUSE_S` at a time so that it is
never starved. A request's own work before its ack is never paused.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Iterator
from contextvars import Context, ContextVar

# Longest a piece of deferrable work waits for the requests in flight to be answered.
MAX_PAUSE_S = 0.25

_URGENT: ContextVar[bool] = ContextVar("warroom_urgent", default=False)
# Set in tasks whose every step may wait for the requests in flight (after an ack, loops).
_DEFERRABLE: ContextVar[bool] = ContextVar("warroom_deferrable", default=False)


class _Gate:
    def __init__(self) -> None:
        self.unanswered = 0
        self._clear: asyncio.Event | None = None

    def clear_event(self) -> asyncio.Event:
        if self._clear is None:
            self._clear = asyncio.Event()
            if self.unanswered == 0:
                self._clear.set()
        return self._clear


# One gate per event loop: tests and the sandbox run several apps, each on its own loop.
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = weakref.WeakKeyDictionary()


def _gate() -> _Gate:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = _Gate()
    return gate


@contextlib.contextmanager
def answering() -> Iterator[None]:
    """Around the handling of one Slack request, until its answer is ready."""
    gate = _gate()
    token = _URGENT.set(True)
    gate.unanswered += 1
    if gate._clear is not None:
        gate._clear.clear()
    try:
        yield
    finally:
        gate.unanswered -= 1
        if gate.unanswered == 0 and gate._clear is not None:
            gate._clear.set()
        _URGENT.reset(token)


def answered() -> None:
    """Called in a listener's task when it acks: what it does from here on can wait."""
    _URGENT.set(False)
    _DEFERRABLE.set(True)


def can_wait() -> None:
    """Called at the start of a background loop's task: all of it can wait."""
    _DEFERRABLE.set(True)


def deferrable(context: Context) -> bool:
    return context.get(_DEFERRABLE, False)


def busy() -> bool:
    """Is a request on this loop waiting for its answer?"""
    gate = _gates.get(asyncio.get_running_loop())
    return gate is not None and gate.unanswered > 0


def urgent() -> bool:
    return _URGENT.get()


async def yield_to_acks() -> None:
    """Pause deferrable work while a request waits for its answer (at most MAX_PAUSE_S)."""
    if _URGENT.get():
        return
    gate = _gate()
    if gate.unanswered == 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(gate.clear_event().wait(), MAX_PAUSE_S)
