"""The Slack side of declaring: channel, invitations, topic, pinned card, announcement.

Each step is recorded in `incident.setup` once Slack confirmed it: a failure half way leaves
an incident that says what is missing, and `/incident repair` finishes it, no step twice.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows import card as incident_card
from bot.flows.declare import adopt
from bot.flows.declare.private import security_people
from bot.flows.errors import is_storage_error
from bot.flows.oncall.page import start_escalation
from bot.flows.stakeholders import summary as stakeholder_summary
from bot.logging_setup import get_logger
from bot.metrics import INCIDENTS_DECLARED, SLACK_STEP_FAILURES
from bot.services import Services
from bot.slack.channels import ChannelMissing
from incident import card, registry, timeline
from incident.declaration import channel_name
from incident.models import Incident
from incident.roles import is_user

log = get_logger(__name__)

STEPS = ("channel", "invite", "topic", "card", "pin", "announce")
NEEDS = {
    "invite": "channel",
    "topic": "channel",
    "card": "channel",
    "pin": "card",
    "announce": "channel",
}
STEP_LABELS = {
    "channel": "create the incident channel",
    "invite": "invite the declarer and commander",
    "topic": "set the channel topic",
    "card": "post the incident card",
    "pin": "pin the card",
    "announce": "announce in #{incidents}",
}
MAX_NAME_ATTEMPTS = 5


class StepFailed(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class SetupOutcome:
    incident: Incident
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed and not self.skipped


def _slack_error(exc: SlackApiError) -> str:
    err = str(exc.response.get("error", "unknown_error"))
    retry_after = exc.response.headers.get("Retry-After") if exc.response.headers else None
    return f"{err} (retry after {retry_after}s)" if err == "ratelimited" and retry_after else err


async def _step_channel(services: Services, inc: Incident) -> dict:
    last_error = "name_taken"
    for attempt in range(MAX_NAME_ATTEMPTS):
        name = channel_name(inc.number, inc.title, attempt)
        try:
            resp = await services.slack.conversations_create(
                name=name, is_private=bool(inc.private)
            )
            return {"channel_id": resp["channel"]["id"], "channel_name": resp["channel"]["name"]}
        except SlackApiError as exc:
            last_error = _slack_error(exc)
            if exc.response.get("error") != "name_taken":
                raise StepFailed(last_error) from exc
            adoptable = attempt == 0 and not inc.private  # never a public one for a secret
            if adoptable and (ch := await adopt.adoptable_channel(services, name)):
                return {"channel_id": ch["id"], "channel_name": ch["name"], "adopted": True}
    raise StepFailed(last_error)


async def _step_invite(services: Services, inc: Incident) -> dict:
    users = sorted(u for u in {inc.reporter_id, inc.commander_id} if is_user(u))
    if inc.private:  # and the security people, nobody else
        users = sorted({*users, *await security_people(services, services.clock.now())})
    if not users:  # declared by an alert: nobody to invite yet
        return {"users": []}
    try:
        await services.slack.conversations_invite(channel=inc.channel_id, users=",".join(users))
    except SlackApiError as exc:
        if exc.response.get("error") != "already_in_channel":
            raise StepFailed(_slack_error(exc)) from exc
    return {"users": users}


async def _step_topic(services: Services, inc: Incident) -> dict:
    await services.slack.conversations_setTopic(channel=inc.channel_id, topic=card.topic(inc))
    return {}


async def _step_card(services: Services, inc: Incident) -> dict:
    blocks, text = await incident_card.render(services, inc)
    resp = await services.slack.chat_postMessage(channel=inc.channel_id, blocks=blocks, text=text)
    return {"card_ts": resp["ts"]}


async def _step_pin(services: Services, inc: Incident) -> dict:
    try:
        await services.slack.pins_add(channel=inc.channel_id, timestamp=inc.card_ts)
    except SlackApiError as exc:
        if exc.response.get("error") != "already_pinned":
            raise StepFailed(_slack_error(exc)) from exc
    return {}


async def _step_announce(services: Services, inc: Incident) -> dict:
    name = services.settings.incidents_channel
    try:
        resp = await services.channels.post(name, text=card.announcement(inc))
    except ChannelMissing as exc:
        raise StepFailed(f"channel #{exc.name} not found") from exc
    return {"announce_ts": resp.get("ts")}


_RUN: dict[str, Callable[[Services, Incident], Awaitable[dict]]] = {
    "channel": _step_channel,
    "invite": _step_invite,
    "topic": _step_topic,
    "card": _step_card,
    "pin": _step_pin,
    "announce": _step_announce,
}


async def _store_step(
    services: Services, number: int, step: str, result: dict | None, error: str | None
) -> Incident:
    async with services.transaction() as session:
        inc = await registry.get(session, number, for_update=True)
        assert inc is not None
        if error is None and result is not None:
            if "channel_id" in result:
                inc.channel_id = result["channel_id"]
                inc.channel_name = result["channel_name"]
            if "card_ts" in result:
                inc.card_ts = result["card_ts"]
            registry.mark_step(inc, step)
            await timeline.record(
                session, number, f"setup.{step}", at=services.clock.now(), data=result
            )
        else:
            registry.mark_step(inc, step, error=error)
            await timeline.record(
                session,
                number,
                "setup.failed",
                at=services.clock.now(),
                text=f"Could not {step_label(services, step)}: {error}",
                data={"step": step, "error": error},
            )
        return inc


def step_label(services: Services, step: str) -> str:
    return STEP_LABELS[step].format(incidents=services.settings.incidents_channel)


async def run_setup(services: Services, number: int) -> SetupOutcome:
    """Set-ups queue for `services.setup_slots`: a burst of declarations must wait here
    rather than time out waiting for a database connection."""
    async with services.setup_slots:
        return await _run_setup(services, number)


async def _run_setup(services: Services, number: int) -> SetupOutcome:
    """Run every step not yet done, in order; a step whose prerequisite failed is skipped."""
    async with services.sessions() as session:
        inc = await registry.get(session, number)
    assert inc is not None
    outcome = SetupOutcome(inc)
    # A repair, or a declare cut short (a failed step, Postgres gone mid-post, a restart):
    # the card may be in the channel already even though no step says so.
    resuming = bool(inc.setup.get("done") or inc.setup.get("failed"))
    for step in STEPS:
        if step in inc.setup.get("done", []):
            continue
        need = NEEDS.get(step)
        if need and need not in inc.setup.get("done", []):
            outcome.skipped.append(step)
            continue
        try:
            result = await adopt.adopt(services, inc, step) if resuming else None
            result = result or await _RUN[step](services, inc)
            error = None
        except StepFailed as exc:
            result, error = None, exc.error
        except SlackApiError as exc:
            result, error = None, _slack_error(exc)
        except (TimeoutError, OSError) as exc:
            result, error = None, f"Slack did not answer ({type(exc).__name__})"
        if error:
            SLACK_STEP_FAILURES.labels(step).inc()
            log.warning("declare step failed", incident=number, step=step, error=error)
            outcome.failed[step] = error
        inc = await _store_step(services, number, step, result, error)
    outcome.incident = inc
    return outcome


def outcome_message(services: Services, outcome: SetupOutcome) -> str:
    inc = outcome.incident
    where = f"<#{inc.channel_id}>" if inc.channel_id else "(no channel yet)"
    if outcome.complete:
        return (
            f"Incident #{inc.number} declared ({inc.severity}): {where}. "
            f"The card is pinned there and #{services.settings.incidents_channel} has been told."
        )
    problems = [f"could not {step_label(services, s)}: `{e}`" for s, e in outcome.failed.items()]
    problems += [
        f"did not {step_label(services, s)} (needs an earlier step)" for s in outcome.skipped
    ]
    return (
        f"⚠️ Incident #{inc.number} is stored ({inc.severity}) {where}, but Slack refused part of "
        f"the set-up:\n• "
        + "\n• ".join(problems)
        + f"\nRun `/incident repair {inc.number}` to retry "
        "the missing steps."
    )


SOFT_DUPLICATE_WINDOW_S = 120


async def _soft_duplicate(
    services: Services, reporter: str, title: str, key: str
) -> Incident | str | None:
    """The same person declaring the same title twice within two minutes means one incident.
    Returns the earlier incident, "pending" when it is still being stored, or None."""
    marker = f"declare:{reporter}:{hashlib.sha256(title.lower().encode()).hexdigest()[:16]}"
    try:
        first = await services.redis.set(
            "warroom:" + marker, key, nx=True, ex=SOFT_DUPLICATE_WINDOW_S
        )
        holder = None if first else await services.redis.get("warroom:" + marker)
    except Exception as exc:  # Redis down: the DB key still guards
        log.warning("soft duplicate check skipped", error_type=type(exc).__name__)
        return None
    if first or (holder and holder.decode() == key):
        return None
    for _ in range(20):
        async with services.sessions() as session:
            earlier = await registry.recent_same_title(
                session,
                reporter,
                title,
                services.clock.now(),
                timedelta(seconds=SOFT_DUPLICATE_WINDOW_S),
            )
        if earlier is not None:
            return earlier
        await asyncio.sleep(0.1)
    return "pending"


async def store_incident(
    session: AsyncSession,
    *,
    title: str,
    severity: str,
    reporter: str,
    commander: str,
    key: str,
    now: datetime,
    service: str | None,
    detected_at: datetime | None,
    impact: str | None = None,
    private: bool = False,
) -> tuple[Incident | None, bool]:
    """(the incident, whether this call created it). An incident already stored with this key
    (declared by an earlier delivery) is returned as not new; None only if it vanished."""
    inc = await registry.create(
        session,
        title=title,
        severity=severity,
        reporter_id=reporter,
        commander_id=commander,
        impact=impact,
        declare_key=key,
        now=now,
        service=service,
        detected_at=detected_at,
        private=private,
    )
    if inc is not None:
        INCIDENTS_DECLARED.labels(severity).inc()
        log.info("incident declared", incident=inc.number, severity=severity, service=service)
        return inc, True
    return await registry.by_declare_key(session, key), False


async def declare_incident(
    services: Services,
    *,
    title: str,
    severity: str,
    reporter: str,
    commander: str,
    impact: str | None,
    key: str,
    notify: Callable[[str], Awaitable[object]],
    service: str | None = None,
    detected_at: datetime | None = None,
    private: bool = False,
) -> Incident | None:
    """Store the incident, then do the Slack steps; the declarer hears the outcome either way.
    A redelivery of the same request (same key) does nothing and says nothing. ``service`` is
    the catalog service it is about (checked by the caller); ``detected_at`` when the trouble
    was first seen, e.g. an alert's start."""
    async with services.sessions() as session:
        if await registry.by_declare_key(session, key) is not None:
            return None
    dup = await _soft_duplicate(services, reporter, title, key)
    if isinstance(dup, Incident):
        where = f" <#{dup.channel_id}>" if dup.channel_id else ""
        await notify(
            f"You declared incident #{dup.number} with this title moments ago{where}; "
            "not declaring it twice."
        )
        return None
    if dup == "pending":
        await notify(
            "An identical declaration of yours is still being processed; not declaring it twice."
        )
        return None
    async with services.transaction() as session:
        inc, created = await store_incident(
            session,
            title=title,
            severity=severity,
            reporter=reporter,
            commander=commander,
            key=key,
            now=services.clock.now(),
            service=service,
            detected_at=detected_at,
            impact=impact,
            private=private,
        )
    if inc is None or not created:
        return None
    try:
        outcome = await run_setup(services, inc.number)
    except Exception as exc:
        if not is_storage_error(exc):
            raise
        # The incident is stored and Slack may have done some steps: "nothing was changed"
        # would be false. Say what is true and how to finish.
        log.warning(
            "declare set-up interrupted", incident=inc.number, error_type=type(exc).__name__
        )
        await notify(interrupted_message(inc))
        return inc
    return await after_setup(services, outcome, notify)


async def after_setup(
    services: Services, outcome: SetupOutcome, notify: Callable[[str], Awaitable[object]]
) -> Incident:
    """What follows a declaration's Slack set-up, however it was declared: the declarer
    hears the outcome, the on-call person is paged, stakeholders are told."""
    number = outcome.incident.number
    await notify(outcome_message(services, outcome))
    await start_escalation(services, outcome.incident)  # never raises: failures are logged
    if problems := await stakeholder_summary.refresh(services, number):
        await notify(
            f"⚠️ Incident #{number} is declared, but Slack refused to " + "; ".join(problems) + "."
        )
    return outcome.incident


def interrupted_message(inc: Incident) -> str:
    return (
        f"⚠️ Incident #{inc.number} is stored ({inc.severity}), but storage became unavailable "
        "during the Slack set-up, so the channel, card or announcement may be missing. Run "
        f"`/incident repair {inc.number}` once storage is back to finish it."
    )
