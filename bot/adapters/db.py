"""The async SQLAlchemy engine and Alembic migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.adapters.priority import yield_to_acks

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept the usual `postgres://` and `postgresql://` forms and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        normalise_url(url),
        pool_size=pool_size,
        max_overflow=10,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
    )


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[psycopg.AsyncConnection]:
    """A pooled connection's own psycopg connection, for the few hot statements (the 📌
    batches) whose cost was mostly SQLAlchemy's execution layer rather than Postgres."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        yield raw.driver_connection  # type: ignore[misc]


class PoliteSession(AsyncSession):
    """A session that, when opened by work that can wait, first lets the Slack requests
    waiting for their answer go ahead (bot.adapters.priority)."""

    async def __aenter__(self) -> PoliteSession:
        await yield_to_acks()
        return await super().__aenter__()


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False, class_=PoliteSession)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` did, so `warroom db upgrade` can say it rather than "up to date"."""

    before: str | None  # the schema's revision before (None: an empty database)
    after: str | None
    applied: tuple[str, ...]  # oldest first; empty when it was already at `after`

    def describe(self) -> str:
        if not self.applied:
            return f"database schema already at {self.after or 'base'}; nothing applied"
        first, last = self.applied[0], self.applied[-1]
        span = first if first == last else f"{first}–{last}"
        return f"applied migrations {span}; database schema now at {self.after}"


def current_revision(url: str) -> str | None:
    """The revision in `alembic_version`, None for a database never migrated."""
    engine = create_engine(normalise_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> Upgrade:
    """Run from a thread or a sync context: Alembic's env uses a sync engine.

    The applied list is read from the revisions before and after: if another replica
    migrated in between, its revisions are counted too (the schema is what matters)."""
    cfg = alembic_config(url)
    before = current_revision(url)
    command.upgrade(cfg, revision)
    after = current_revision(url)
    applied: tuple[str, ...] = ()
    if after != before and after is not None:
        script = ScriptDirectory.from_config(cfg)
        newest_first = script.iterate_revisions(after, before)
        applied = tuple(reversed([rev.revision for rev in newest_first]))
    return Upgrade(before, after, applied)
