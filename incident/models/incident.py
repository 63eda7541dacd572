"""What Postgres holds about an incident: the row, its timeline and who took part. Times are
timezone-aware UTC."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incident.models.base import Base


class Status(enum.StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MITIGATING = "mitigating"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class Incident(Base):
    __tablename__ = "incidents"

    number: Mapped[int] = mapped_column(Integer, Identity(start=1), primary_key=True)
    title: Mapped[str] = mapped_column(String(150))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=Status.INVESTIGATING.value)
    impact: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    commander_id: Mapped[str] = mapped_column(String(32))
    reporter_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    channel_name: Mapped[str | None] = mapped_column(String(80))
    card_ts: Mapped[str | None] = mapped_column(String(32))
    # Idempotency key of the Slack delivery that declared it: a retry finds it here.
    declare_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Which declare steps reached Slack (channel, invite, topic, card, pin, announce).
    setup: Mapped[dict[str, Any]] = mapped_column(default=dict)
    declared_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    last_update_at: Mapped[datetime | None]
    # The catalog service the incident is about; alerts for it attach here.
    service: Mapped[str | None] = mapped_column(String(80))
    # When the trouble was first seen (an alert's startsAt), if before the declaration.
    detected_at: Mapped[datetime | None]
    # A security incident: private channel, no title announced, never on the status page.
    private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    events: Mapped[list[TimelineEvent]] = relationship(
        back_populates="incident", order_by="TimelineEvent.occurred_at", lazy="raise"
    )

    __table_args__ = (
        Index(
            "ix_incidents_open_service",
            "service",
            postgresql_where=text("resolved_at IS NULL AND service IS NOT NULL"),
        ),
    )

    @property
    def is_open(self) -> bool:
        return self.status != Status.RESOLVED.value


class TimelineEvent(Base):
    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_incident_time", "incident_number", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_number: Mapped[int] = mapped_column(ForeignKey("incidents.number", ondelete="CASCADE"))
    occurred_at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The same Slack delivery (event_id, action ts…) is never recorded twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    withdrawn_at: Mapped[datetime | None]

    incident: Mapped[Incident] = relationship(back_populates="events", lazy="raise")


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("incident_number", "user_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_number: Mapped[int] = mapped_column(ForeignKey("incidents.number", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32), default="responder")
    joined_at: Mapped[datetime]
