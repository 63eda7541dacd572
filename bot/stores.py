"""Where Postgres and Redis come from: the configured URLs, or embedded servers when unset."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.embedded_postgres import EmbeddedPostgres
from bot.embedded_redis import EmbeddedRedis
from bot.settings import Settings


@dataclass
class StoreURLs:
    database_url: str
    redis_url: str
    embedded: list[object] = field(default_factory=list)


def resolve_stores(settings: Settings) -> StoreURLs:
    embedded: list[object] = []
    db_url = settings.database_url
    if not db_url:
        pg = EmbeddedPostgres(settings.warroom_data_dir)
        embedded.append(pg)
        db_url = pg.url
    redis_url = settings.redis_url
    if not redis_url:
        r = EmbeddedRedis(settings.warroom_data_dir)
        r.start()
        embedded.append(r)
        redis_url = r.url
    return StoreURLs(db_url, redis_url, embedded)
