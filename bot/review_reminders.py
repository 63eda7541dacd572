"""Reminds commanders of the post-incident review due five business days after resolution."""

from __future__ import annotations

import asyncio

from bot.background import background_task
from bot.postmortem_delivery import due_review_reminders
from bot.services import Services


@background_task("postmortem_reviews")
async def review_reminder_loop(services: Services) -> None:
    interval = float(getattr(services.settings, "reminder_interval_s", 15))
    while True:
        await due_review_reminders(services, services.clock.now())
        await asyncio.sleep(max(interval, 1.0))
