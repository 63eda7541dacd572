"""Sending a page, once.

A page is claimed before anything reaches Slack, the way reminders are: with the incident row
locked, the due step is computed again from the `pages` rows (`incident.escalation`), then
its `page` timeline event and its `pages` row are stored under one deterministic key
(``page:<n>:<step>:<round>``). A replica that loses the race finds the key taken, or the step
no longer due, and sends nothing; a restart reads the same rows and goes on from there. If
Slack takes none of the page, the claim is removed so a later tick tries again.

Whom a page reaches:

* a user (``user:U…``, or ``schedule:X`` / ``schedule:X:next`` resolved at the moment of the
  page, overrides included): invited to the incident channel, a direct message with the
  incident, a link to its channel and **Acknowledge**, and a line in the channel naming them;
* a user group: its members are invited to the channel and the group is mentioned there
  (``<!subteam^S…>``) with **Acknowledge**; nobody is sent a direct message (a group can be
  large, and one channel message notifies every member);
* a repeat of the last step: a line in the incident channel mentioning its target again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.errors import SlackApiError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.lifecycle import service as lifecycle_service
from bot.flows.oncall.policy import policy_for
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui import oncall as ui
from incident import event_kinds as K
from incident import registry, timeline
from incident.escalation import MAX_REPEATS, Due, Sent, due_page
from incident.escaping import escape_mrkdwn
from incident.lifecycle import LifecycleError
from incident.models import Incident, Page, TimelineEvent
from incident.oncall import EscalationPolicy, ResolvedTarget, Target, resolve_target

log = get_logger(__name__)

MAX_INVITES = 1000  # users per conversations.invite call


@dataclass(frozen=True)
class Claimed:
    """A page stored (claimed) and about to be sent."""

    number: int
    key: str
    target: str  # as written: schedule:platform:next
    who: ResolvedTarget
    reason: str  # mrkdwn, escaped
    round: int = 0
    paged_by: str | None = None
    message: str | None = None
    policy: str | None = None  # None: paged by hand
    step: int | None = None

    @property
    def repeat(self) -> bool:
        return self.round > 0


class PageRefused(LifecycleError):
    """A page by hand that cannot be sent; the message says why."""


# -- reading the escalation state ------------------------------------------------------------


async def sent_pages(session: AsyncSession, numbers: Iterable[int]) -> dict[int, list[Sent]]:
    """The policy pages already sent, by incident (pages by hand are no step)."""
    wanted = list(numbers)
    out: dict[int, list[Sent]] = defaultdict(list)
    if not wanted:
        return out
    rows = await session.execute(
        select(Page.incident_number, Page.step, Page.round, Page.paged_at).where(
            Page.incident_number.in_(wanted), Page.step.is_not(None)
        )
    )
    for number, step, round_, at in rows:
        out[number].append(Sent(step, round_, at))
    return out


def _reason(policy: EscalationPolicy, due: Due) -> str:
    step = policy.steps[due.step]
    name = escape_mrkdwn(policy.name)
    what = f"step {due.step + 1} of {len(policy.steps)} of escalation `{name}`"
    return f"{what}: `{escape_mrkdwn(str(step.target))}`"


# -- claiming ---------------------------------------------------------------------------------


async def _store(session: AsyncSession, inc: Incident, page: Claimed, now: datetime) -> bool:
    data = {
        "target": page.target,
        "kind": page.who.kind,
        "ref": page.who.ref,
        "round": page.round,
    }
    if not await timeline.record(
        session,
        inc.number,
        K.PAGE,
        at=now,
        actor=page.paged_by,
        text=page.message,
        data=data | {"policy": page.policy, "step": page.step},
        key=page.key,
    ):
        return False
    session.add(
        Page(
            incident_number=inc.number,
            dedupe_key=page.key,
            policy=page.policy,
            step=page.step,
            round=page.round,
            target=page.target[:120],
            kind=page.who.kind,
            ref=page.who.ref[:80],
            paged_at=now,
            paged_by=page.paged_by,
            message=page.message,
        )
    )
    return True


async def _claim_due(services: Services, number: int) -> tuple[Incident, Claimed] | None:
    """Store the page of ``number``'s policy due now, under the row lock; None when nothing
    is due or another replica took it."""
    now = services.clock.now()
    catalog = services.catalog.current
    async with services.transaction() as session:
        inc = await registry.get(session, number, for_update=True)
        if inc is None or not inc.is_open or inc.acknowledged_at is not None:
            return None
        policy = policy_for(catalog, inc)
        if policy is None or catalog is None:
            return None
        sent = (await sent_pages(session, [number])).get(number, [])
        due = due_page(policy.steps, sent, start=inc.declared_at, acknowledged=False, now=now)
        if due is None:
            return None
        target = policy.steps[due.step].target
        try:
            who = resolve_target(target, catalog.schedules(), now)
        except KeyError:  # a schedule that left the catalog: nobody to page for this step
            log.warning("page target unknown", incident=number, target=str(target))
            return None
        page = Claimed(
            number,
            due.key(number),
            str(target),
            who,
            _reason(policy, due),
            due.round,
            policy=policy.name[:80],
            step=due.step,
        )
        if not await _store(session, inc, page, now):
            return None
    return inc, page


async def _release(services: Services, key: str) -> None:
    async with services.transaction() as session:
        await session.execute(delete(Page).where(Page.dedupe_key == key))
        await session.execute(delete(TimelineEvent).where(TimelineEvent.dedupe_key == key))


# -- sending ----------------------------------------------------------------------------------


async def _post(services: Services, channel: str | None, **message: object) -> bool:
    if not channel:
        return False
    try:
        await services.slack.chat_postMessage(channel=channel, **message)
    except SlackApiError as exc:
        log.warning("page not posted", channel=channel, error=exc.response.get("error"))
        return False
    return True


async def _invite(services: Services, inc: Incident, users: list[str]) -> None:
    users = [u for u in dict.fromkeys(users) if u][:MAX_INVITES]
    if not inc.channel_id or not users:
        return
    try:
        await services.slack.conversations_invite(channel=inc.channel_id, users=",".join(users))
    except SlackApiError as exc:
        if exc.response.get("error") != "already_in_channel":
            log.warning("paged people not invited", error=exc.response.get("error"))


async def _direct_message(services: Services, inc: Incident, page: Claimed) -> bool:
    user = page.who.ref
    text, blocks = ui.page_dm(inc, reason=page.reason, paged_by=page.paged_by, message=page.message)
    try:
        opened = await services.slack.conversations_open(users=user)
        channel = opened["channel"]["id"]
        posted = await services.slack.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except SlackApiError as exc:
        log.warning("page not sent", user=user, error=exc.response.get("error"))
        return False
    async with services.transaction() as session:
        await session.execute(
            update(Page)
            .where(Page.dedupe_key == page.key)
            .values(dm_channel=channel, dm_ts=posted.get("ts"))
        )
    return True


async def _group(services: Services, ref: ResolvedTarget) -> tuple[str | None, list[str]]:
    """The group's id (a mention needs it) and its members."""
    try:
        gid = ref.ref if ref.is_usergroup_id else None
        gid = gid or await lifecycle_service.group_id(services, ref.ref)
        if not gid:
            return None, []
        listed = await services.slack.usergroups_users_list(usergroup=gid)
    except SlackApiError as exc:
        log.warning("user group lookup failed", group=ref.ref, error=exc.response.get("error"))
        return None, []
    return gid, list(listed.get("users") or [])


async def deliver(services: Services, inc: Incident, page: Claimed) -> bool:
    """True when at least one message of the page reached Slack."""
    if page.who.kind == "user":
        mention = ui.who("user", page.who.ref)
        members = [page.who.ref]
    else:
        gid, members = await _group(services, page.who)
        mention = ui.who("usergroup", page.who.ref, gid)
    if page.repeat:
        text = ui.repeat_notice(inc, mention, repeat=page.round, of=MAX_REPEATS, reason=page.reason)
        return await _post(services, inc.channel_id, text=text)
    await _invite(services, inc, members)
    if page.who.kind == "user":
        dm = await _direct_message(services, inc, page)
        notice = ui.page_notice(
            inc, mention, reason=page.reason, paged_by=page.paged_by, message=page.message
        )
        return await _post(services, inc.channel_id, text=notice) or dm
    text, blocks = ui.group_page(
        inc, mention, reason=page.reason, paged_by=page.paged_by, message=page.message
    )
    return await _post(services, inc.channel_id, text=text, blocks=blocks)


# -- the escalation ---------------------------------------------------------------------------


async def escalate(services: Services, number: int) -> bool:
    """Send the page of ``number``'s policy due now, if any; True when one went out."""
    claimed = await _claim_due(services, number)
    if claimed is None:
        return False
    inc, page = claimed
    if await deliver(services, inc, page):
        log.info("paged", incident=number, target=page.target, round=page.round)
        return True
    await _release(services, page.key)
    return False


async def start_escalation(services: Services, inc: Incident) -> None:
    """Right after an incident is declared: page step 1 of its service's policy. Never
    fails the declaration: whatever goes wrong is logged, and the loop tries again."""
    try:
        if policy_for(services.catalog.current, inc) is not None:
            await escalate(services, inc.number)
    except Exception as exc:
        log.warning("paging step 1 failed", incident=inc.number, error_type=type(exc).__name__)


# -- by hand ----------------------------------------------------------------------------------


async def page_by_hand(
    services: Services,
    number: int,
    target: Target,
    *,
    actor: str,
    message: str | None,
    key: str,
) -> tuple[Incident, Claimed] | None:
    """`/incident page`: the same page as a step's, on the timeline under ``key`` (a
    redelivered command pages nobody twice: None). Raises PageRefused with a sentence."""
    now = services.clock.now()
    catalog = services.catalog.current
    schedules = catalog.schedules() if catalog is not None else {}
    try:
        who = resolve_target(target, schedules, now)
    except KeyError:
        raise PageRefused(f"There is no schedule `{escape_mrkdwn(target.ref)}`.") from None
    reason = f"paged by hand: `{escape_mrkdwn(str(target))}`"
    page = Claimed(number, key, str(target), who, reason, 0, actor, message or None)
    async with services.transaction() as session:
        inc = await registry.get(session, number, for_update=True)
        if inc is None:
            raise PageRefused(f"There is no incident #{number}.")
        if not inc.is_open:
            raise PageRefused(f"Incident #{number} is resolved; nobody was paged.")
        if not await _store(session, inc, page, now):
            return None
    if not await deliver(services, inc, page):
        await _release(services, page.key)
        raise PageRefused("Slack refused the page; nobody was paged. Try again in a moment.")
    return inc, page
