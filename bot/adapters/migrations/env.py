"""Alembic environment: a sync psycopg engine, the URL set by bot.db.alembic_config."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from incident.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    # Two replicas starting together must not migrate at once.
    connection.exec_driver_sql("SELECT pg_advisory_lock(726173)")
    try:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.exec_driver_sql("SELECT pg_advisory_unlock(726173)")
        connection.commit()
engine.dispose()
