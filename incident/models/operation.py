"""A change warroom made to a Deployment and whose rollout it is still following.

Kept in Postgres so that when the replica following it stops (SIGTERM, crash), another
replica, or the same one after its restart, takes over the lease and finishes the job:
follow the rollout, verify health, post the verdict, record the outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from incident.models.base import Base


class RolloutFollow(Base):
    __tablename__ = "rollout_follows"

    request_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    incident_number: Mapped[int] = mapped_column(ForeignKey("incidents.number", ondelete="CASCADE"))
    request: Mapped[dict[str, Any]]  # the Confirm button's value, parsed
    audit: Mapped[dict[str, Any]]  # the timeline data gathered before the rollout
    actor: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    progress_ts: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None]
    resumed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    finished_at: Mapped[datetime | None]
