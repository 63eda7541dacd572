"""The 30 minutes after: once an incident is resolved, its service's checks run every
`WARROOM_WATCH_INTERVAL_MIN` for `WARROOM_WATCH_WINDOW_MIN` (runbook 003).

Every replica runs this loop, and each round still runs once, like the reminders: the state
is the timeline alone (a restart loses nothing), each round's `check` event is stored under
a deterministic key (`watch:<n>:<resolved>:<round>`) with the incident row locked, and only
the replica whose insert won posts. A Redis once-marker spares the other replicas from
running the same checks for nothing. The watch of one resolution ends at its first failure
(one message with *Reopen*, an `aftercare` event with outcome `failed`) or after its last
round passed (one "all checks passed" message, outcome `passed`). Reopened and resolved
again, the incident is watched again: the key carries the resolution's time.

An incident with no catalog service has nothing to check: the watch records and posts
nothing (keeping the resolved channel quiet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapters.catalog.model import Service
from bot.adapters.checks.runner import run_checks
from bot.adapters.locks import LockUnavailable
from bot.background import background_task, every
from bot.flows.checks.run import checkers
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui.aftercare import failure_blocks
from incident import event_kinds as K
from incident import registry, timeline
from incident.checks import CheckResult, render_mrkdwn, results_to_dicts, summarise
from incident.models import Incident, Status, TimelineEvent
from incident.roles import mention

log = get_logger(__name__)


@dataclass(frozen=True)
class Watch:
    window: timedelta
    every: timedelta

    @property
    def rounds(self) -> int:
        return max(1, math.ceil(self.window / self.every))

    def due_at(self, resolved_at: datetime, round_: int) -> datetime:
        return resolved_at + min(self.every * round_, self.window)

    def latest_due(self, resolved_at: datetime, now: datetime) -> int:
        """The last round due by `now` (0: none yet); missed rounds are not run late."""
        if now < self.due_at(resolved_at, 1):
            return 0
        done = int((now - resolved_at) / self.every)
        return min(max(done, 1), self.rounds) if now < resolved_at + self.window else self.rounds

    def minutes(self) -> str:
        value = self.window.total_seconds() / 60
        return f"{value:g}"


def watch_of(services: Services) -> Watch | None:
    s = services.settings
    if s.warroom_watch_window_min <= 0:
        return None
    return Watch(
        timedelta(minutes=s.warroom_watch_window_min),
        timedelta(minutes=s.warroom_watch_interval_min),
    )


def prefix(inc: Incident) -> str:
    """Names one resolution of one incident."""
    assert inc.resolved_at is not None
    return f"watch:{inc.number}:{int(inc.resolved_at.timestamp())}"


def interval(services: Services) -> float:
    """How often to look (the reminders' tick: tests and the sandbox change it live)."""
    return services.settings.reminder_interval_s


@background_task("aftercare", stops_at_idle=True)
async def run(services: Services) -> None:
    # `reminders_paused` (every's default) stops this process's schedulers (tests, the
    # sandbox). A lambda, so each round calls the module's `tick` (tests wrap it).
    await every(services, interval=interval, tick=lambda s: tick(s), what="aftercare tick failed")


async def _watched(session: AsyncSession, now: datetime, watch: Watch) -> list[Incident]:
    q = select(Incident).where(
        Incident.status == Status.RESOLVED.value,
        Incident.service.is_not(None),
        Incident.resolved_at.is_not(None),
        Incident.resolved_at >= now - watch.window - watch.every,
        Incident.resolved_at <= now,
    )
    return list((await session.scalars(q)).all())


async def _done(session: AsyncSession, key_prefix: str) -> dict[str, TimelineEvent]:
    rows = await session.scalars(
        select(TimelineEvent).where(TimelineEvent.dedupe_key.like(key_prefix + ":%"))
    )
    return {e.dedupe_key: e for e in rows if e.dedupe_key}


async def tick(services: Services) -> int:
    """Run the rounds due now; returns how many this replica stored."""
    watch = watch_of(services)
    catalog = services.catalog.current
    if watch is None or catalog is None:
        return 0
    now = services.clock.now()
    due: list[tuple[Incident, int, Service]] = []
    async with services.sessions() as session:
        for inc in await _watched(session, now, watch):
            assert inc.resolved_at is not None and inc.service is not None
            round_ = watch.latest_due(inc.resolved_at, now)
            if round_ == 0 or inc.service not in catalog.names:
                continue
            p = prefix(inc)
            done = await _done(session, p)
            if f"{p}:failed" in done or f"{p}:passed" in done or f"{p}:{round_}" in done:
                continue
            due.append((inc, round_, catalog.get(inc.service)))
    ran = 0
    for inc, round_, service in due:
        if await _first(services, f"{prefix(inc)}:{round_}", watch):
            ran += await _round(services, inc, round_, service, watch)
    return ran


async def _first(services: Services, key: str, watch: Watch) -> bool:
    """Only one replica runs a round's checks (the timeline key still decides who posts)."""
    try:
        return await services.locks.once(key, max(watch.every.total_seconds(), 1.0))
    except LockUnavailable:
        return True


async def _round(
    services: Services, inc: Incident, round_: int, service: Service, watch: Watch
) -> int:
    results = await run_checks([service], checkers(services))
    summary = summarise(results)
    failed = summary.fail > 0
    last = round_ >= watch.rounds
    p = prefix(inc)
    async with services.transaction() as session:
        current = await registry.get(session, inc.number, for_update=True)
        if current is None or current.resolved_at != inc.resolved_at:
            return 0  # reopened (or resolved again) meanwhile: this round is moot
        now = services.clock.now()
        data = {
            "results": results_to_dicts(results),
            "watch": {"round": round_, "of": watch.rounds, "failed": failed},
        }
        if not await timeline.record(
            session,
            inc.number,
            K.CHECK,
            at=now,
            text=summary.headline,
            data=data,
            key=f"{p}:{round_}",
        ):
            return 0  # another replica stored this round
        outcome = "failed" if failed else "passed" if last else None
        if outcome:
            await timeline.record(
                session,
                inc.number,
                K.AFTERCARE,
                at=now,
                text=_record_text(watch, outcome),
                data={
                    "outcome": outcome,
                    "window_min": watch.window.total_seconds() / 60,
                    "round": round_,
                    "service": service.name,
                },
                key=f"{p}:{outcome}",
            )
    if failed:
        await _post_failure(services, current, round_, watch, results, summary.headline)
    elif last:
        await _post(services, current, text=_passed_text(watch, service))
    return 1


def _record_text(watch: Watch, outcome: str) -> str:
    if outcome == "failed":
        return "A check failed after resolution"
    return f"{watch.minutes()} min after resolution: all checks passed"


def _passed_text(watch: Watch, service: Service) -> str:
    return f"✅ {watch.minutes()} min after resolution: all checks passed (`{service.name}`)."


async def _post_failure(
    services: Services,
    inc: Incident,
    round_: int,
    watch: Watch,
    results: list[CheckResult],
    headline: str,
) -> None:
    after = watch.due_at(inc.resolved_at, round_) - inc.resolved_at  # type: ignore[operator]
    minutes = f"{after.total_seconds() / 60:g}"
    text = "\n".join(
        [
            f"⚠️ {minutes} min after resolution, a check of `{inc.service}` failed — {headline}",
            *render_mrkdwn(results),
            f"{mention(inc.commander_id)}, if the problem is back, reopen incident #{inc.number}.",
        ]
    )
    await _post(services, inc, text=text, blocks=failure_blocks(inc.number, text))


async def _post(services: Services, inc: Incident, **message: object) -> None:
    if not inc.channel_id:
        return
    try:
        await services.slack.chat_postMessage(channel=inc.channel_id, **message)
    except Exception as exc:  # recorded on the timeline either way
        log.warning(
            "aftercare message not posted", incident=inc.number, error_type=type(exc).__name__
        )
