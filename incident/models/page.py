"""A page warroom sent for an incident: a step of the service's escalation policy (``step``,
``round`` > 0 for the last step repeated in the channel) or a page by hand (`/incident page`,
``step`` None). One row per page.

``dedupe_key`` is unique: an escalation step is claimed by inserting its row, with the incident
row locked, before anything reaches Slack, so two replicas (or a restart) never send it twice.
The pages of an incident are its escalation state: what was sent and when, so the next step
is computed from Postgres alone (`incident.escalation`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from incident.models.base import Base


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (Index("ix_pages_incident", "incident_number", "paged_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_number: Mapped[int] = mapped_column(ForeignKey("incidents.number", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    policy: Mapped[str | None] = mapped_column(String(80))  # None: paged by hand
    step: Mapped[int | None] = mapped_column(Integer)  # index into the policy's steps
    round: Mapped[int] = mapped_column(Integer, default=0)  # > 0: the last step repeated
    target: Mapped[str] = mapped_column(String(120))  # as written: schedule:platform:next
    kind: Mapped[str] = mapped_column(String(16))  # user | usergroup
    ref: Mapped[str] = mapped_column(String(80))  # the user id, or the group's id or handle
    paged_at: Mapped[datetime]
    paged_by: Mapped[str | None] = mapped_column(String(32))  # who paged by hand
    message: Mapped[str | None] = mapped_column(Text)
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    dm_ts: Mapped[str | None] = mapped_column(String(32))
