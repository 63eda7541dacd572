"""Declaring from an alert, in two halves: the incident row is stored in the caller's
transaction (under the service's advisory lock, with the alert rows that caused it), and its
Slack set-up (bot.flows.declare.setup.run_setup: channel, card, announcement, then paging
and stakeholders) runs after the commit, with the lock released. Another replica receiving
the same notification meanwhile finds the stored incident and attaches to it at once,
instead of waiting for the Slack steps of the first.

The same steps as `declare_incident`, which stores in its own transaction and so cannot be
used under the lock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.flows.declare.setup import after_setup, interrupted_message, run_setup, store_incident
from bot.flows.errors import is_storage_error
from bot.logging_setup import get_logger
from bot.services import Services
from incident.models import Incident

__all__ = ["set_up", "store_incident"]
log = get_logger(__name__)
# A set-up cut short by storage (a pool timeout in a burst, a failover) is resumed, since
# nobody is there to run `/incident repair` for an alert.
SETUP_ATTEMPTS = 3
SETUP_RETRY_S = 2.0


async def set_up(
    services: Services, number: int, notify: Callable[[str], Awaitable[object]]
) -> Incident | None:
    """The Slack side of a committed declaration; `notify` hears the outcome."""
    for attempt in range(SETUP_ATTEMPTS):
        try:
            outcome = await run_setup(services, number)
            break
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            log.warning(
                "declare set-up interrupted",
                incident=number,
                attempt=attempt + 1,
                error_type=type(exc).__name__,
            )
            last = exc
        # every step is stored once Slack confirmed it: the next attempt resumes
        await asyncio.sleep(SETUP_RETRY_S * (attempt + 1))
    else:
        log.warning(
            "declare set-up left unfinished", incident=number, error_type=type(last).__name__
        )
        try:
            async with services.sessions() as session:
                inc = await session.get(Incident, number)
        except Exception:  # still down: the log lines above say it all
            return None
        if inc is not None:
            await notify(interrupted_message(inc))
        return inc
    return await after_setup(services, outcome, notify)
