"""Posting and editing the stakeholder summary of an incident.

Exactly once per channel, across replicas and Slack redeliveries: a Redis lock per incident
serialises the work, and the ts of each message is stored in ``incidents.setup["stakeholders"]``
(``{channel_id: {name, ts, digest}}``) as soon as Slack returns it; later calls edit that
message with ``chat.update``, and only when the text changed. A redelivered command changes
nothing, so it renders the same text and touches nothing. Posting and storing are two steps,
so a summary with no stored ts is first looked for in the channel (`adopt`): one that an
attempt posted but never recorded is edited, not posted again.

Trouble never breaks the lifecycle action that called: it comes back as problem texts the
caller reports with its own ("post the stakeholder summary in #exec-updates: ...").
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.adapters.catalog.stakeholders import is_group_id
from bot.adapters.locks import LockUnavailable
from bot.flows.stakeholders import adopt
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack import usergroups
from bot.slack.channels import ChannelMissing
from incident import event_kinds as K
from incident import registry
from incident.models import Incident, TimelineEvent
from incident.stakeholders import SETUP_KEY, PublicUpdate, digest, summary_text

log = get_logger(__name__)

LOCK_TTL_S = 20.0
LOCK_WAIT_S = 15.0
# Changes stakeholders hear about (an update only shows when it was public: same text else).
RELEVANT = frozenset(
    {K.SEVERITY, K.STATUS, K.UPDATE, K.RESOLVED, K.COMMANDER, getattr(K, "REOPENED", "reopened")}
)
_PRIVATE_HINT = "private channel warroom is not in: invite warroom there"


def concerns(kinds: set[str] | frozenset[str]) -> bool:
    return bool(RELEVANT & set(kinds))


async def public_updates(session: Any, number: int) -> list[PublicUpdate]:
    rows = await session.execute(
        select(TimelineEvent.occurred_at, TimelineEvent.text)
        .where(
            TimelineEvent.incident_number == number,
            TimelineEvent.kind == K.UPDATE,
            TimelineEvent.withdrawn_at.is_(None),
            TimelineEvent.data["public"].as_boolean().is_(True),
        )
        .order_by(TimelineEvent.occurred_at)
    )
    return [PublicUpdate(at, text or "") for at, text in rows.all()]


async def refresh(services: Services, number: int) -> list[str]:
    """Bring every stakeholder message of incident `number` up to date; returns problems."""
    try:
        if not await _has_audience(services, number):
            return []  # no stakeholders for it: no lock, no Slack call
    except Exception as exc:  # storage trouble: the lifecycle action stands all the same
        log.warning("stakeholder summary skipped", incident=number, error_type=type(exc).__name__)
        return [f"update the stakeholder summary: {type(exc).__name__}"]
    problems: list[str] = []
    try:
        held = None
        waited = 0.0
        while held is None:
            held, _ = await services.locks.acquire(f"stakeholders:{number}", LOCK_TTL_S)
            if held is None:
                if waited >= LOCK_WAIT_S:
                    return ["update the stakeholder summary: another replica is still at it"]
                await asyncio.sleep(0.1)
                waited += 0.1
    except LockUnavailable:
        # Unlocked, two replicas could both post: better a late summary than two.
        return ["update the stakeholder summary: Redis is unavailable"]
    try:
        await _refresh_locked(services, number, problems)
    except Exception as exc:  # whatever happens here, the lifecycle action stands
        log.error("stakeholder summary failed", incident=number, error_type=type(exc).__name__)
        problems.append(f"update the stakeholder summary: {type(exc).__name__}")
    finally:
        await services.locks.release(held)
    if problems:
        log.warning("stakeholder summary incomplete", incident=number, problems=problems)
    return problems


async def _has_audience(services: Services, number: int) -> bool:
    async with services.sessions() as session:
        inc = await registry.get(session, number)
    if inc is None:
        return False
    if (inc.setup or {}).get(SETUP_KEY):
        return True
    catalog = services.catalog.current
    if catalog is None:
        return False
    target = catalog.stakeholders.for_incident(inc.severity, inc.service)
    return bool(target.channels or target.usergroups)


async def _refresh_locked(services: Services, number: int, problems: list[str]) -> None:
    async with services.sessions() as session:
        inc = await registry.get(session, number)
        if inc is None:
            return
        updates = await public_updates(session, number)
    posted: dict[str, dict[str, Any]] = dict((inc.setup or {}).get(SETUP_KEY) or {})
    catalog = services.catalog.current
    names: list[str] = []
    handles: list[str] = []
    if catalog is not None:
        target = catalog.stakeholders.for_incident(inc.severity, inc.service)
        names, handles = list(target.channels), list(target.usergroups)
        if catalog.stakeholders.groups_without_channel(inc.severity, inc.service):
            names.append(services.settings.incidents_channel.lstrip("#"))
    if not names and not posted:
        return
    mentions = [m for h in handles if (m := await _mention(services, h, problems))]
    text = summary_text(inc, updates, mentions=mentions)
    wanted: dict[str, str] = {}  # channel id -> name
    for name in dict.fromkeys(names):
        try:
            wanted[await services.channels.channel_id(name)] = name
        except ChannelMissing:
            problems.append(
                f"post the stakeholder summary in #{name}: channel not found (or a {_PRIVATE_HINT})"
            )
        except SlackApiError as exc:
            problems.append(f"find #{name}: `{exc.response.get('error')}`")
    for channel, entry in posted.items():  # a channel that had it keeps hearing
        wanted.setdefault(channel, str(entry.get("name") or channel))
    for channel, name in wanted.items():
        await _bring_up_to_date(services, inc, channel, name, posted.get(channel), text, problems)


async def _mention(services: Services, handle: str, problems: list[str]) -> str | None:
    if is_group_id(handle):
        return f"<!subteam^{handle}>"
    try:
        gid = await usergroups.group_id(services.slack, services.caches.usergroup_ids, handle)
    except SlackApiError as exc:
        problems.append(f"find user group @{handle}: `{exc.response.get('error')}`")
        return None
    if gid is None:
        problems.append(f"mention user group @{handle}: not found")
        return None
    return f"<!subteam^{gid}>"


async def _bring_up_to_date(
    services: Services,
    inc: Incident,
    channel: str,
    name: str,
    entry: dict[str, Any] | None,
    text: str,
    problems: list[str],
) -> None:
    want = digest(text)
    ts = entry.get("ts") if entry else None
    if ts and entry:
        if entry.get("digest") == want:
            return
        if (error := await _edit(services, inc.number, channel, ts, text)) is None:
            await _store(services, inc.number, channel, {**entry, "digest": want})
            return
        if error != "message_not_found":  # deleted by someone: post it again below
            problems.append(f"edit the stakeholder summary in #{name}: `{error}`")
            return
    # Nothing stored (or it was deleted): a summary posted by an attempt that never stored
    # its ts (a crash, Postgres gone, a 5xx that posted all the same) is adopted, not doubled.
    ts = await adopt.posted_summary(services, channel, inc.number)
    if ts:
        if (error := await _edit(services, inc.number, channel, ts, text)) is not None:
            problems.append(f"edit the stakeholder summary in #{name}: `{error}`")
            return
        log.info("stakeholder summary adopted", incident=inc.number, channel=channel, ts=ts)
    else:
        ts = await _post(services, inc.number, channel, name, text, problems)
    if ts:
        await _store(services, inc.number, channel, {"name": name, "ts": ts, "digest": want})


async def _edit(services: Services, number: int, channel: str, ts: str, text: str) -> str | None:
    """Edit a summary in place; the Slack error, or None when done. The marker goes with
    the edit too, so a summary posted before it existed becomes adoptable."""
    try:
        await services.slack.chat_update(
            channel=channel, ts=ts, text=text, metadata=adopt.metadata(number)
        )
    except SlackApiError as exc:
        return str(exc.response.get("error"))
    return None


async def _post(
    services: Services, number: int, channel: str, name: str, text: str, problems: list[str]
) -> str | None:
    """Post, joining a public channel first when warroom is not in it yet; with the marker
    `adopt.posted_summary` looks for, should the ts never be stored."""
    slack = services.slack
    meta = adopt.metadata(number)
    try:
        return (await slack.chat_postMessage(channel=channel, text=text, metadata=meta))["ts"]
    except SlackApiError as exc:
        if exc.response.get("error") != "not_in_channel":
            problems.append(
                f"post the stakeholder summary in #{name}: `{exc.response.get('error')}`"
            )
            return None
    try:
        await slack.conversations_join(channel=channel)
        return (await slack.chat_postMessage(channel=channel, text=text, metadata=meta))["ts"]
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in {
            "method_not_supported_for_channel_type",
            "channel_not_found",
            "not_in_channel",
        }:
            problems.append(f"post the stakeholder summary in #{name}: a {_PRIVATE_HINT}")
        else:
            problems.append(f"post the stakeholder summary in #{name}: `{error}`")
        return None


async def _store(services: Services, number: int, channel: str, entry: dict[str, Any]) -> None:
    async with services.transaction() as session:
        inc = await registry.get(session, number, for_update=True)
        if inc is None:
            return
        setup = dict(inc.setup or {})
        posts = dict(setup.get(SETUP_KEY) or {})
        posts[channel] = entry
        setup[SETUP_KEY] = posts
        inc.setup = setup
