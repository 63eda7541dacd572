"""The background loops every replica runs, listed once. The server hands this list to
`bot.background.start_all`; a new loop is added here, where a reader finds them all."""

from __future__ import annotations

from bot.background import Loop
from bot.flows import catalog_watch
from bot.flows.aftercare import loop as aftercare
from bot.flows.oncall import loop as escalations
from bot.flows.operations import watch as rollout_watch
from bot.flows.reminders import loop as reminders
from bot.flows.reminders import review

LOOPS: tuple[Loop, ...] = (
    reminders.run,
    escalations.run,
    review.review_reminder_loop,
    rollout_watch.run,
    catalog_watch.catalog_watch_loop,
    aftercare.run,
)
