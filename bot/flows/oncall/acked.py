"""The page DMs say when the incident is acknowledged.

A page DM carries **Acknowledge**; once the incident is acknowledged (the DM's button, the
card's, `/incident ack`, whichever replica took it), every page DM warroom sent for it is
edited (`chat.update`) to name who acknowledged and when, without the button.

Why a sweep and not a step of the acknowledgement: the acknowledgement is the lifecycle's
(bot.flows.lifecycle), shared by three entry points, and a DM can reach Slack after the
acknowledgement (a page claimed just before it); a sweep of the escalation loop sees both.
`show_acknowledged` may also be called right after an acknowledgement, to edit at once.

Once: each DM is claimed with a Redis once-marker (`page-dm-acked:<page id>:<DM>`) before the
edit, so two replicas (or a sweep and a direct call) edit it once. A Slack failure is logged
and not tried again; it never touches the acknowledgement, which is already committed. Only
incidents acknowledged within WINDOW are swept, so the markers (kept longer) cover them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.adapters.locks import LockUnavailable
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui import oncall as ui
from incident import event_kinds as K
from incident import timeline
from incident.models import Incident, Page

log = get_logger(__name__)

WINDOW = timedelta(hours=24)  # acknowledged longer ago than this: its DMs are left alone
MARKER_TTL_S = 2 * WINDOW.total_seconds()
_DONE: set[str] = set()  # DMs this process knows are claimed (no Redis call for them)


@dataclass(frozen=True)
class _Dm:
    page_id: int
    channel: str
    ts: str
    paged_by: str | None
    message: str | None

    @property
    def marker(self) -> str:
        """The DM itself, not only its row: a row id can come back after a restore."""
        return f"page-dm-acked:{self.page_id}:{self.channel}:{self.ts}"


async def _pending(
    services: Services, number: int | None
) -> list[tuple[Incident, str | None, list[_Dm]]]:
    """The acknowledged incidents (``number`` alone, or all within WINDOW) whose page DMs
    this process has not seen claimed, with who acknowledged."""
    since = services.clock.now() - WINDOW
    q = (
        select(Incident, Page)
        .join(Page, Page.incident_number == Incident.number)
        .where(
            Incident.acknowledged_at.is_not(None),
            Page.dm_channel.is_not(None),
            Page.dm_ts.is_not(None),
        )
        .order_by(Page.id)
    )
    q = q.where(Incident.number == number) if number is not None else q
    q = q.where(Incident.acknowledged_at >= since) if number is None else q
    found: dict[int, tuple[Incident, list[_Dm]]] = {}
    seen: set[str] = set()
    async with services.sessions() as session:
        for inc, page in await session.execute(q):
            dm = _Dm(page.id, page.dm_channel or "", page.dm_ts or "", page.paged_by, page.message)
            seen.add(dm.marker)
            if dm.marker in _DONE:
                continue
            found.setdefault(inc.number, (inc, []))[1].append(dm)
        out = []
        for inc, dms in found.values():
            acks = await timeline.events(session, inc.number, kinds=(K.ACKNOWLEDGED,), limit=1)
            out.append((inc, acks[0].actor if acks else None, dms))
    if number is None:  # forget the pages that left the window
        _DONE.intersection_update(seen)
    return out


async def _edit(services: Services, inc: Incident, acked_by: str | None, dm: _Dm) -> bool:
    assert inc.acknowledged_at is not None
    text, blocks = ui.page_dm_acknowledged(
        inc,
        acked_by=acked_by,
        acked_at=inc.acknowledged_at,
        paged_by=dm.paged_by,
        message=dm.message,
    )
    try:
        await services.slack.chat_update(channel=dm.channel, ts=dm.ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        log.warning(
            "page DM not updated after the acknowledgement",
            incident=inc.number,
            page=dm.page_id,
            error=exc.response.get("error"),
        )
        return False
    return True


async def show_acknowledged(services: Services, number: int | None = None) -> int:
    """Edit the page DMs of acknowledged incidents (``number`` alone, or every one
    acknowledged within WINDOW) that nobody edited yet; returns how many this call edited.
    Never raises for Slack or Redis trouble: the acknowledgement stands whatever this does."""
    edited = 0
    for inc, acked_by, dms in await _pending(services, number):
        for dm in dms:
            try:
                claimed = await services.locks.once(dm.marker, MARKER_TTL_S)
            except LockUnavailable:
                log.warning("page DMs not updated: Redis unavailable", incident=inc.number)
                return edited
            _DONE.add(dm.marker)
            if claimed and await _edit(services, inc, acked_by, dm):
                edited += 1
    return edited
