"""Everything a flow needs, built once per process (bootstrap.build_services) and handed to
listeners through Bolt's context. Every dependency is a named, typed field: a test or the
sandbox replaces a field, never a string key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.adapters.catalog.store import CatalogStore
from bot.adapters.checks.aws import AwsClients
from bot.adapters.kube.clients import KubeClients
from bot.adapters.locks import Locks
from bot.clock import Clock
from bot.config import Settings
from bot.slack.channels import NamedChannels
from bot.slack.client import PoliteWebClient
from incident.severity import Policy

if TYPE_CHECKING:
    from bot.adapters.links import LinkSigner

# Declarations set up at once (channel, card, announcement): more would queue for a pool
# connection and fail as "storage unavailable" in a burst.
SETUP_SLOTS = 8


@dataclass
class Caches:
    """What Slack told this process once and is asked again rarely."""

    bot_user_id: str | None = None
    usergroup_ids: dict[str, str] = field(default_factory=dict)
    # handle -> (monotonic expiry, members)
    usergroup_members: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict)
    user_names: dict[str, str | None] = field(default_factory=dict)
    # channel id -> incident number (hits only: a channel's incident may not be stored yet)
    incident_channels: dict[str, int] = field(default_factory=dict)
    # rollout follows this replica could not reach: follow id -> retry after (monotonic)
    rollout_skips: dict[str, float] = field(default_factory=dict)


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker
    redis: aioredis.Redis
    slack: AsyncWebClient
    policy: Policy
    clock: Clock = field(default_factory=Clock)
    catalog: CatalogStore = field(default_factory=lambda: CatalogStore.of(None))
    kube: KubeClients = field(default_factory=KubeClients)
    aws: AwsClients = field(default_factory=AwsClients)
    caches: Caches = field(default_factory=Caches)
    # The sandbox and some tests run loops by hand.
    background_enabled: bool = True
    reminders_paused: bool = False
    channels: NamedChannels = field(init=False)
    setup_slots: asyncio.Semaphore = field(init=False)
    link_signer: LinkSigner | None = None  # made on first use (bot.flows.postmortem.links)
    pin_batchers: Any = None  # made on first use (bot.flows.capture)

    def __post_init__(self) -> None:
        self.channels = NamedChannels(self.slack)
        self.setup_slots = asyncio.Semaphore(SETUP_SLOTS)
        # Pin capture writes in autocommit batches; one engine view shared by them.
        self.autocommit: AsyncEngine = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def locks(self) -> Locks:
        return Locks(self.redis)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        if isinstance(self.slack, PoliteWebClient):
            await self.slack.close_sessions()
        await self.kube.close()
        await self.engine.dispose()
        await self.redis.aclose()
