"""Everything a listener needs, built once per process and handed to listeners via context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.adapters.locks import Locks
from bot.clock import Clock
from bot.config import Settings
from incident.severity import Policy


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker
    redis: aioredis.Redis
    slack: AsyncWebClient
    policy: Policy
    clock: Clock = field(default_factory=Clock)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def locks(self) -> Locks:
        return Locks(self.redis)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        await self.engine.dispose()
        await self.redis.aclose()
