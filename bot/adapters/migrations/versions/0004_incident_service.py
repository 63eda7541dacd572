"""incident service and detection time: which catalog service an incident is about (alerts
attach to it, its changes and checks are shown), and when the trouble was first detected

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incidents", sa.Column("service", sa.String(length=80), nullable=True))
    op.add_column("incidents", sa.Column("detected_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_incidents_open_service",
        "incidents",
        ["service"],
        postgresql_where=sa.text("resolved_at IS NULL AND service IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_open_service", table_name="incidents")
    op.drop_column("incidents", "detected_at")
    op.drop_column("incidents", "service")
