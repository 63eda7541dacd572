"""Reminds commanders of the post-incident review due five business days after resolution."""

from __future__ import annotations

from bot.background import background_task, idle
from bot.postmortem_delivery import due_review_reminders
from bot.services import Services


@background_task("postmortem_reviews", stops_at_idle=True)
async def review_reminder_loop(services: Services) -> None:
    interval = float(getattr(services.settings, "reminder_interval_s", 15))
    while True:
        await due_review_reminders(services, services.clock.now())
        await idle(max(interval, 1.0))
