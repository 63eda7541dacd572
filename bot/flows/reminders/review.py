"""Reminds commanders of the post-incident review due five business days after resolution."""

from __future__ import annotations

from bot.background import background_task, idle
from bot.flows.postmortem.delivery import due_review_reminders
from bot.logging_setup import get_logger
from bot.services import Services

log = get_logger(__name__)


@background_task("postmortem_reviews", stops_at_idle=True)
async def review_reminder_loop(services: Services) -> None:
    while True:
        try:
            await due_review_reminders(services, services.clock.now())
        except Exception as exc:  # Postgres down: the next round picks everything up
            log.warning("review reminder round failed", error_type=type(exc).__name__)
        await idle(max(services.settings.reminder_interval_s, 1.0))
