"""Picks up an edited catalog within seconds, on every replica, without a restart or a SIGHUP
(a ConfigMap update reaches the pod's file, never its signals). A broken edit never takes
effect: the store keeps the last good catalog and `/healthz` shows it stale."""

from __future__ import annotations

import asyncio

from bot.background import background_task, idle
from bot.logging_setup import get_logger
from bot.services import Services

log = get_logger(__name__)

POLL_S = 2.0


@background_task("catalog_watch", stops_at_idle=True)
async def catalog_watch_loop(services: Services) -> None:
    while True:
        # Looked up each round: the sandbox and tests may swap the store. Without a file
        # (a catalog built in code) there is nothing to watch.
        store = services.catalog
        try:
            if store.path is not None:
                # A stat() per round; the file is read (in a thread) only when it changed.
                await asyncio.to_thread(store.reload_if_changed)
        except Exception as exc:  # never expected (reload reports its own errors)
            log.warning("catalog watch round failed", error_type=type(exc).__name__)
        await idle(POLL_S)
