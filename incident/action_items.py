"""Action items: "what we will change", each with an owner, recorded in Slack during or after
an incident and listed in its post-mortem."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from incident import event_kinds as K
from incident import timeline
from incident.models import ActionItem

MAX_ACTION_CHARS = 1000
# Slack's escaped mention, with or without the `|name` part.
_TRAILING_MENTION = re.compile(r"\s*<@([UW][A-Z0-9]+)(?:\|[^>]*)?>\s*$")


@dataclass(frozen=True, slots=True)
class ActionItemView:
    id: int
    text: str
    owner_id: str | None
    created_by: str
    created_at: datetime
    done: bool


def parse_action(args: str) -> tuple[str, str | None]:
    """`fix the retry loop <@U123|ana>` → ("fix the retry loop", "U123"): the owner is the
    mention at the end, so mentions inside the sentence stay part of it."""
    text = args.strip()
    owner = None
    m = _TRAILING_MENTION.search(text)
    if m:
        owner = m.group(1)
        text = text[: m.start()].rstrip()
    return text, owner


async def add(
    session: AsyncSession,
    number: int,
    text: str,
    *,
    owner_id: str | None,
    created_by: str,
    now: datetime,
    key: str | None = None,
) -> ActionItemView | None:
    """Store the item and its timeline event; None when `key` was already used."""
    t = ActionItem.__table__
    stmt = (
        insert(t)
        .values(
            incident_number=number,
            text=text[:MAX_ACTION_CHARS],
            owner_id=owner_id,
            created_by=created_by,
            created_at=now,
            done=False,
            dedupe_key=key,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(t.c.id)
    )
    item_id = (await session.execute(stmt)).scalar_one_or_none()
    if item_id is None:
        return None
    await timeline.record(
        session,
        number,
        K.ACTION_ITEM,
        at=now,
        actor=created_by,
        text=text[:MAX_ACTION_CHARS],
        data={"owner": owner_id, "item_id": item_id},
        key=f"{key}:event" if key else None,
    )
    return ActionItemView(item_id, text[:MAX_ACTION_CHARS], owner_id, created_by, now, False)


async def for_incident(session: AsyncSession, number: int) -> list[ActionItemView]:
    t = ActionItem.__table__
    rows = await session.execute(
        select(t.c.id, t.c.text, t.c.owner_id, t.c.created_by, t.c.created_at, t.c.done)
        .where(t.c.incident_number == number)
        .order_by(t.c.created_at, t.c.id)
    )
    return [ActionItemView(*row) for row in rows]
