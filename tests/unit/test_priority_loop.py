"""The server's event loop serves a request waiting for its answer before the work that can
wait: counted in steps, not timed, so the machine's load cannot make it pass or fail."""

from __future__ import annotations

import asyncio

from bot.adapters import priority
from bot.http import priority_loop
from bot.http.priority_loop import PriorityEventLoop

WORKERS, STEPS, ROUNDS = 50, 40, 20


async def _scenario(mark_deferrable: bool) -> tuple[int, int]:
    """(steps of background work run while one request took ROUNDS rounds, steps in all)."""
    done = 0

    async def background_work() -> None:
        nonlocal done
        if mark_deferrable:
            priority.can_wait()
        for _ in range(STEPS):
            done += 1
            await asyncio.sleep(0)

    workers = [asyncio.create_task(background_work()) for _ in range(WORKERS)]
    await asyncio.sleep(0)  # they have started
    with priority.answering():
        before = done
        for _ in range(ROUNDS):
            await asyncio.sleep(0)
        during = done - before
    await asyncio.gather(*workers)
    return during, done


def _run(mark_deferrable: bool) -> tuple[int, int]:
    loop = PriorityEventLoop()
    try:
        return loop.run_until_complete(_scenario(mark_deferrable))
    finally:
        loop.close()


def test_a_waiting_request_runs_ahead_of_work_that_can_wait(monkeypatch) -> None:
    monkeypatch.setattr(priority_loop, "STARVE_S", 3600.0)  # the starvation guard never due
    during, total = _run(mark_deferrable=True)
    assert during == 0  # while the request had steps to run, the background work had none
    assert total == WORKERS * STEPS  # and all of it is done once the request is answered


def test_other_work_is_not_held_back() -> None:
    during, total = _run(mark_deferrable=False)
    assert during >= WORKERS * (ROUNDS - 1)  # every worker steps each round, as asyncio does
    assert total == WORKERS * STEPS


def test_work_that_can_wait_is_never_starved() -> None:
    """A request that waits for work that can wait, while a callback re-arms itself every
    round (as anyio's cancel delivery does), still gets its answer: that work moves."""

    async def scenario() -> int:
        """Steps of background work done while the request waited for it."""
        loop = asyncio.get_running_loop()
        steps = 0
        stop = False

        def rearm() -> None:
            if not stop:
                loop.call_soon(rearm)

        async def background_work() -> None:
            nonlocal steps
            priority.can_wait()
            for _ in range(STEPS):
                steps += 1
                await asyncio.sleep(0)

        worker = asyncio.create_task(background_work())
        with priority.answering():
            rearm()
            await worker  # never finishes if the work is starved (wait_for says so)
            stop = True
        return steps

    loop = PriorityEventLoop()
    try:
        assert loop.run_until_complete(asyncio.wait_for(scenario(), 10)) == STEPS
    finally:
        loop.close()


def test_work_that_can_wait_yields_the_loop_between_rounds(monkeypatch) -> None:
    """With nobody waiting, work that can wait still ends a round once it has run for
    ROUND_S, so a request arriving meanwhile is read at once; with no time allowed, that is
    one step per round (counted by a callback that runs once per round)."""
    monkeypatch.setattr(priority_loop, "ROUND_S", -1.0)

    async def scenario() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        rounds = 0
        stop = False

        def tick() -> None:
            nonlocal rounds
            rounds += 1
            if not stop:
                loop.call_soon(tick)

        async def background_work() -> None:
            priority.can_wait()
            for _ in range(STEPS):
                await asyncio.sleep(0)

        tick()
        await asyncio.gather(*(background_work() for _ in range(WORKERS)))
        stop = True
        return rounds, WORKERS * STEPS

    loop = PriorityEventLoop()
    try:
        rounds, steps = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert rounds >= steps  # one step of that work per round, never all fifty at once
