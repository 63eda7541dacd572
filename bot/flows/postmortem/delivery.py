"""What happens to a post-mortem once its incident is resolved: generated, recorded with its
review due date, summarised in the incident channel and in #incidents with a signed link, and
archived to S3; then, a day before the review is due, the commander is reminded.

Each Slack post is remembered in the `postmortems` row, so calling `on_resolved` again (a
retry, another replica) does not post twice; a new resolution (after a reopen) posts again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.postmortem.archive import Archived, archive_postmortem
from bot.flows.postmortem.links import link_expiry, link_signer
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.channels import ChannelMissing
from incident import event_kinds as K
from incident import postmortem, review, timeline
from incident.escaping import escape_mrkdwn
from incident.models import Incident, PostmortemRecord, Status
from incident.postmortem import PostMortem
from incident.postmortem_render import slack_summary
from incident.timefmt import utc_text

log = get_logger(__name__)
REMINDER_BATCH = 50


@dataclass
class Delivery:
    number: int
    link: str
    link_expires: datetime
    review_due_at: datetime
    channel_ts: str | None = None
    announce_ts: str | None = None
    archived: Archived | None = None
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewReminder:
    number: int
    commander_id: str
    due_at: datetime
    sent: bool
    error: str | None = None


def _stats(pm: PostMortem) -> dict[str, Any]:
    def secs(d: timedelta | None) -> int | None:
        return int(d.total_seconds()) if d is not None else None

    return {
        "tta_s": secs(pm.durations.tta),
        "ttm_s": secs(pm.durations.ttm),
        "ttr_s": secs(pm.durations.ttr),
        "events": pm.event_count,
        "severity": pm.severity,
    }


async def _claim(
    session: AsyncSession, pm: PostMortem, resolved_at: datetime, now: datetime
) -> PostmortemRecord:
    """The row for this incident, locked until commit; reset when this is a new resolution."""
    due = review.review_due(resolved_at)
    await session.execute(
        insert(PostmortemRecord)
        .values(
            incident_number=pm.number,
            resolved_at=resolved_at,
            generated_at=now,
            review_due_at=due,
            remind_at=review.reminder_at(due),
            delivery={},
            stats=_stats(pm),
        )
        .on_conflict_do_nothing(index_elements=["incident_number"])
    )
    record = (
        await session.scalars(
            select(PostmortemRecord)
            .where(PostmortemRecord.incident_number == pm.number)
            .with_for_update()
        )
    ).one()
    if record.resolved_at != resolved_at:
        record.resolved_at = resolved_at
        record.review_due_at = due
        record.remind_at = review.reminder_at(due)
        record.reminded_at = None
        record.delivery = {}
    record.generated_at = now
    record.stats = _stats(pm)
    return record


async def _post_summary(
    services: Services, pm: PostMortem, text: str, delivery: dict[str, Any], out: Delivery
) -> None:
    """Post where no earlier attempt succeeded; `delivery` remembers what went out."""
    if pm.channel_id and not delivery.get("channel_ts"):
        try:
            resp = await services.slack.chat_postMessage(
                channel=pm.channel_id, text=text, unfurl_links=False
            )
            delivery["channel_ts"] = resp["ts"]
        except Exception as exc:  # reported; the other steps still run
            out.errors["channel"] = _error(exc)
    if not delivery.get("announce_ts"):
        try:
            resp = await services.channels.post(
                services.settings.incidents_channel, text=text, unfurl_links=False
            )
            delivery["announce_ts"] = resp.get("ts")
        except Exception as exc:
            out.errors["announce"] = _error(exc)
    out.channel_ts = delivery.get("channel_ts")
    out.announce_ts = delivery.get("announce_ts")


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "slack_error"))
    if isinstance(exc, ChannelMissing):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc)[:200]}"


async def on_resolved(services: Services, number: int) -> Delivery | None:
    """Generate, store, post and archive the post-mortem of a resolved incident; None when
    there is no such incident. Never raises for Slack or S3 trouble: see `errors`."""
    now = services.clock.now()
    async with services.transaction() as session:
        pm = await postmortem.build(session, number, now=now, policy=services.policy)
        if pm is None:
            return None
        record = await _claim(session, pm, pm.resolved_at or now, now)
        expires = link_expiry(services)
        out = Delivery(
            number, link_signer(services).sign_link(number, expires), expires, record.review_due_at
        )
        delivery = dict(record.delivery)
        text = slack_summary(pm, out.link, link_expires=expires)
        await _post_summary(services, pm, text, delivery, out)
        record.delivery = delivery
    try:
        out.archived = await archive_postmortem(services, number, pm=pm)
    except Exception as exc:  # the post-mortem is delivered in Slack; S3 is a copy
        out.errors["archive"] = _error(exc)
    if out.errors:
        log.warning("post-mortem delivery incomplete", incident=number, errors=out.errors)
    return out


def reminder_text(number: int, title: str, due: datetime, link: str) -> str:
    return (
        f"⏰ The post-incident review of incident #{number} (*{escape_mrkdwn(title)}*) is due "
        f"{utc_text(due)} — five business days after resolution (runbook 002).\n"
        f"Please fill in the root cause, contributing factors and action items: "
        f"<{link}|open the post-mortem>."
    )


async def due_review_reminders(services: Services, now: datetime) -> list[ReviewReminder]:
    """DM the commander of every resolved incident whose review is due within 24 h and who
    was not reminded yet. Rows are locked with SKIP LOCKED, so replicas share the work and
    nobody is reminded twice; a Slack refusal counts as done (it would refuse again), a
    network error leaves the reminder for the next call."""
    pt, it = PostmortemRecord.__table__, Incident.__table__
    out: list[ReviewReminder] = []
    async with services.transaction() as session:
        rows = await session.execute(
            select(pt.c.incident_number, pt.c.review_due_at, it.c.commander_id, it.c.title)
            .join(it, it.c.number == pt.c.incident_number)
            .where(
                pt.c.remind_at <= now,
                pt.c.reminded_at.is_(None),
                it.c.status == Status.RESOLVED.value,
            )
            .order_by(pt.c.remind_at)
            .limit(REMINDER_BATCH)
            .with_for_update(of=pt, skip_locked=True)
        )
        signer = link_signer(services)
        for number, due, commander, title in rows.all():
            expires = max(link_expiry(services), due + timedelta(days=2))
            text = reminder_text(number, title, due, signer.sign_link(number, expires))
            sent, error, done = True, None, True
            try:
                await services.slack.chat_postMessage(channel=commander, text=text)
            except SlackApiError as exc:
                sent, error = False, _error(exc)
            except Exception as exc:
                sent, error, done = False, _error(exc), False
            if done:
                await session.execute(
                    update(pt).where(pt.c.incident_number == number).values(reminded_at=now)
                )
                await timeline.record(
                    session,
                    number,
                    K.REMINDER,
                    at=now,
                    actor=None,
                    data={"kind": "review", "due": due.isoformat(), "sent": sent, "error": error},
                    key=f"review-reminder:{number}:{due.isoformat()}",
                )
            out.append(ReviewReminder(number, commander, due, sent, error))
    return out
