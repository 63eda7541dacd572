"""Building the process: stores, migrations, clients, services."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.adapters import db
from bot.adapters.catalog.store import CatalogStore
from bot.adapters.checks.aws import AwsClients
from bot.adapters.kube.clients import KubeClients
from bot.adapters.stores import StoreURLs, resolve_stores
from bot.clock import Clock
from bot.config import Settings
from bot.services import Services
from bot.slack.client import make_client
from incident.severity import load_policy


def build_services(
    settings: Settings,
    stores: StoreURLs,
    *,
    clock: Clock | None = None,
    catalog: CatalogStore | None = None,
) -> Services:
    engine = db.make_engine(stores.database_url)
    redis_client = aioredis.Redis.from_url(
        stores.redis_url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
    )
    return Services(
        settings=settings,
        engine=engine,
        sessions=db.session_factory(engine),
        redis=redis_client,
        slack=make_client(
            settings.slack_bot_token or "",
            settings.slack_api_url,
            timeout=settings.slack_timeout_s,
        ),
        policy=load_policy(settings.policy_file),
        clock=clock or Clock(),
        catalog=catalog or CatalogStore.load(settings.catalog_file),
        kube=KubeClients(settings.ops.kubeconfig),
        aws=AwsClients(),
    )


def prepare_stores(settings: Settings) -> StoreURLs:
    """Start embedded stores when no URL is set, then bring the schema up to date."""
    stores = resolve_stores(settings)
    db.upgrade(stores.database_url)
    return stores
