"""What Postgres holds for post-mortems beyond the timeline: the sections people wrote, the
action items they agreed on, and the delivery/review state of each generated post-mortem.

The document itself is never stored: it is rebuilt from these rows and the timeline, so a
regeneration can never lose a human edit and never drift from what happened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Identity, Index, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from incident.models.base import Base


class PostmortemSection(Base):
    """A human-written section (root cause, what went well...): it replaces the generated
    draft of the same key for good."""

    __tablename__ = "postmortem_sections"
    __table_args__ = (Unique("incident_number", "key"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_number: Mapped[int] = mapped_column(ForeignKey("incidents.number", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    edited_by: Mapped[str] = mapped_column(String(32))
    edited_at: Mapped[datetime]


class ActionItem(Base):
    """A follow-up "we will change X", with an owner, recorded during or after an incident."""

    __tablename__ = "action_items"
    __table_args__ = (Index("ix_action_items_incident", "incident_number", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_number: Mapped[int] = mapped_column(ForeignKey("incidents.number", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    # The same Slack delivery never adds the item twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class PostmortemRecord(Base):
    """One row per post-mortem delivered: which resolution it was for, which Slack posts
    went out (so a retry does not post twice), and when the review is due and reminded."""

    __tablename__ = "postmortems"
    __table_args__ = (Index("ix_postmortems_remind_at", "remind_at"),)

    incident_number: Mapped[int] = mapped_column(
        ForeignKey("incidents.number", ondelete="CASCADE"), primary_key=True
    )
    resolved_at: Mapped[datetime]
    generated_at: Mapped[datetime]
    review_due_at: Mapped[datetime]
    remind_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    # {"channel_ts": ..., "announce_ts": ..., "archived": [...]}
    delivery: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {"tta_s", "ttm_s", "ttr_s", "events"}: the figures at generation time.
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
