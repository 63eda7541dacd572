"""An alert warroom received (Alertmanager, Sentry): one row per occurrence, with its current
state, the incident it is attached to and the message that offered to declare it.

`alert_key` (incident.alerts.Alert.occurrence_key) makes a redelivered alert find its row
instead of adding one, on any replica."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from incident.models.base import Base


class AlertRecord(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_incident", "incident_number", "status"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    alert_key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))  # firing | resolved
    name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    service: Mapped[str | None] = mapped_column(String(80))
    labels: Mapped[dict[str, Any]]
    generator_url: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    incident_number: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.number", ondelete="SET NULL")
    )
    # The "Declare incident" offer in the alerts channel, when a rule posted one.
    post_channel: Mapped[str | None] = mapped_column(String(32))
    post_ts: Mapped[str | None] = mapped_column(String(32))
