"""Building the process: configuration, stores, migrations, clients, services."""

from __future__ import annotations

from typing import NamedTuple

import redis.asyncio as aioredis

from bot.adapters import db
from bot.adapters.catalog.load import check_alert_severities
from bot.adapters.catalog.model import CatalogError
from bot.adapters.catalog.store import CatalogStore
from bot.adapters.checks.aws import AwsClients
from bot.adapters.kube.clients import KubeClients
from bot.adapters.stores import StoreURLs, resolve_stores
from bot.clock import Clock
from bot.config import Settings, SettingsError, file_paths, load_settings
from bot.services import Services
from bot.slack.client import make_client
from incident.severity import Policy, PolicyError, load_policy


class Config(NamedTuple):
    """Everything read from the environment and the files it names, checked once."""

    settings: Settings
    catalog: CatalogStore
    policy: Policy


def load_config(*, require_slack: bool = False, **overrides: object) -> Config:
    """Settings, catalog and severity policy, or one SettingsError naming every problem.

    The files are checked even when a variable is wrong: whoever fixes a broken deploy at
    3 a.m. should see the whole list in one line, not one problem per restart.
    """
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = load_settings(require_slack=require_slack, **overrides)
    except SettingsError as exc:
        problems.append(str(exc))
    if settings is not None:
        policy_file, catalog_file = settings.policy_file, settings.catalog_file
    else:
        policy_file, catalog_file = file_paths(**overrides)

    policy: Policy | None = None
    try:
        policy = load_policy(policy_file)
    except PolicyError as exc:
        problems.append(f"POLICY_FILE: {exc}")
    catalog: CatalogStore | None = None
    try:
        catalog = CatalogStore.load(catalog_file)
    except CatalogError as exc:
        problems.append(f"CATALOG_FILE: {exc}")
    if policy is not None and catalog is not None and catalog.current is not None and catalog.path:
        # The catalog read alert severities with the default aliases; the policy may differ.
        if mismatch := check_alert_severities(catalog.path, catalog.current, policy.aliases):
            problems.append(f"CATALOG_FILE: {mismatch}")

    if problems or settings is None or policy is None or catalog is None:
        raise SettingsError("; ".join(problems))
    return Config(settings, catalog, policy)


def build_services(
    settings: Settings,
    stores: StoreURLs,
    *,
    clock: Clock | None = None,
    catalog: CatalogStore | None = None,
    policy: Policy | None = None,
) -> Services:
    """``catalog`` and ``policy`` as checked by `load_config`; read from the settings' files
    when not given (the sandbox and tests)."""
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
        policy=policy if policy is not None else load_policy(settings.policy_file),
        clock=clock or Clock(),
        catalog=catalog if catalog is not None else CatalogStore.load(settings.catalog_file),
        kube=KubeClients(settings.ops.kubeconfig),
        aws=AwsClients(),
    )


def prepare_stores(settings: Settings) -> StoreURLs:
    """Start embedded stores when no URL is set, then bring the schema up to date."""
    stores = resolve_stores(settings)
    try:
        db.upgrade(stores.database_url)
    except BaseException:
        stores.stop_embedded()
        raise
    return stores


def upgrade_database(settings: Settings) -> db.Upgrade:
    """`warroom db upgrade`: migrate, then stop the embedded stores this process started
    (a one-shot command leaves no server behind)."""
    stores = resolve_stores(settings)
    try:
        return db.upgrade(stores.database_url)
    finally:
        stores.stop_embedded()
