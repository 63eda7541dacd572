"""`GET /healthz` in runbook 004's shape, with one check per store we depend on, and
`GET /livez`, which checks nothing.

Kubernetes' readiness probe calls /healthz: a replica that cannot reach Postgres or Redis
stops getting traffic. The liveness probe calls /livez: it must not depend on the stores, or
a database outage would restart every replica at once (and the restarts would not fix it).
/livez answers whenever the event loop runs; a wedged loop answers nothing, the probe times
out, and that replica alone is restarted.

The catalog is reported too, but never makes the process unhealthy: a catalog broken on
reload leaves the last good one in force, so the replica still serves correctly and
restarting it (what a failing probe leads to) would only make it refuse to start. It shows
as `"catalog": {"status": "stale", "error": "file:line: reason"}` until the file is fixed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import text

from bot.services import Services
from bot.version import VERSION

CHECK_TIMEOUT_S = 2.0


async def _database(services: Services) -> None:
    async with services.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _redis(services: Services) -> None:
    await services.redis.ping()


async def _timed(name: str, coro: Any) -> tuple[str, dict[str, Any]]:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(coro, CHECK_TIMEOUT_S)
        result: dict[str, Any] = {"status": "healthy"}
    except TimeoutError:
        result = {"status": "unhealthy", "error": f"timed out after {CHECK_TIMEOUT_S:.0f} s"}
    except Exception as exc:
        result = {"status": "unhealthy", "error": type(exc).__name__ + ": " + str(exc)[:200]}
    result["duration_ms"] = round((time.perf_counter() - start) * 1000, 1)
    return name, result


def _catalog(services: Services) -> dict[str, Any] | None:
    """None without CATALOG_FILE (the sandbox and tests may still set a catalog in code)."""
    status = services.catalog.status
    if status.path is None:
        return None
    if status.stale:
        return {"status": "stale", "path": status.path, "error": status.error}
    catalog = services.catalog.current
    return {
        "status": "healthy",
        "path": status.path,
        "services": len(catalog.services) if catalog else 0,
    }


def liveness_report() -> dict[str, Any]:
    """The body of /livez: always 200, nothing awaited (see the module docstring)."""
    return {"status": "alive", "version": VERSION}


async def health_report(services: Services) -> tuple[int, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = dict(
        await asyncio.gather(
            _timed("database", _database(services)), _timed("redis", _redis(services))
        )
    )
    healthy = all(c["status"] == "healthy" for c in checks.values())
    if (catalog := _catalog(services)) is not None:
        checks["catalog"] = catalog  # informational: see the module docstring
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "timestamp": services.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "version": VERSION,
        "checks": checks,
    }
    return (200 if healthy else 503), body
