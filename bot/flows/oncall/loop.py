"""The escalation loop: every replica runs it, and each page still goes out once.

Each tick reads, from Postgres alone, the open unacknowledged incidents whose service has an
escalation policy and the pages already sent, asks `incident.escalation` which page is due,
and sends it through `page.escalate`, which claims it under the incident's row lock first
(see bot.flows.oncall.page). Ticks at the reminders' interval (`reminder_interval_s`).
Each tick also edits the page DMs of incidents acknowledged since (bot.flows.oncall.acked)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.background import background_task, every
from bot.flows.oncall import acked, page
from bot.flows.oncall.policy import policy_for
from bot.logging_setup import get_logger
from bot.services import Services
from incident import registry
from incident.escalation import due_page
from incident.models import Incident

log = get_logger(__name__)
# The declaring replica pages step 1 itself once the incident's channel exists (page.
# start_escalation): until its set-up has settled the channel step, the loop leaves the
# incident to it, so no page goes out without a channel to link and join. A set-up this late
# is taken for dead, and the loop pages all the same.
SETUP_GRACE = timedelta(seconds=60)


def _setting_up(inc: Incident, now: datetime) -> bool:
    setup = inc.setup or {}
    settled = "channel" in setup.get("done", []) or "channel" in setup.get("failed", {})
    return not settled and now - inc.declared_at < SETUP_GRACE


def interval(services: Services) -> float:
    return services.settings.reminder_interval_s


@background_task("escalations", stops_at_idle=True)
async def run(services: Services) -> None:
    # `reminders_paused` (every's default) stops this process's paging too (the sandbox,
    # tests). A lambda, so each round calls the module's `tick` (tests wrap it).
    await every(services, interval=interval, tick=lambda s: tick(s), what="escalation tick failed")


async def tick(services: Services) -> int:
    """Send every page due now; returns how many this replica sent. First, the DMs of
    pages acknowledged since lose their button (whatever the catalog says now)."""
    try:
        await acked.show_acknowledged(services)
    except Exception as exc:  # storage trouble: the pages due still go out
        log.warning("page DM sweep failed", error_type=type(exc).__name__)
    catalog = services.catalog.current
    if catalog is None:
        return 0
    now = services.clock.now()
    async with services.sessions() as session:
        candidates = [
            (inc, policy)
            for inc in await registry.open_incidents(session)
            if inc.acknowledged_at is None
            and not _setting_up(inc, now)
            and (policy := policy_for(catalog, inc)) is not None
        ]
        sent = await page.sent_pages(session, [inc.number for inc, _ in candidates])
    due = [
        inc.number
        for inc, policy in candidates
        if due_page(
            policy.steps,
            sent.get(inc.number, []),
            start=inc.declared_at,
            acknowledged=False,
            now=now,
        )
    ]
    count = 0
    for number in due:
        if await page.escalate(services, number):
            count += 1
    return count
