"""Benchmark: does a status run over 50 services take as long as the slowest one, not the sum?

Starts one local aiohttp server with 50 health paths whose latencies are spread evenly
between 0 and 1 s, runs ``run_checks`` over all of them at once and compares the wall
time with the slowest target. Target: wall <= 1.2 x slowest + 100 ms.

    python bench/status_checks.py [--targets 50] [--max-latency 1.0] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.adapters.catalog.model import Service
from bot.adapters.checks.http_health import HttpHealthChecker
from bot.adapters.checks.runner import run_checks
from incident.checks import CheckStatus, summarise


class HealthFleet:
    """N health endpoints with fixed latencies, served from a thread with its own loop so
    the server never competes with the checks for the benchmark's event loop."""

    def __init__(self, latencies: list[float]) -> None:
        self.latencies = latencies
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: web.AppRunner | None = None

    def __enter__(self) -> HealthFleet:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.port}/svc/{index}/health"

    async def _health(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.latencies[int(request.match_info["index"])])
        return web.json_response(
            {"status": "healthy", "timestamp": time.time(), "version": "1.0.0"}
        )

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/svc/{index}/health", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        self._ready.set()
        self._loop.run_forever()


async def one_round(services: list[Service], checker: HttpHealthChecker) -> float:
    started = time.perf_counter()
    results = await run_checks(services, [checker], timeout_s=10.0)
    wall = time.perf_counter() - started
    summary = summarise(results)
    if summary.status is not CheckStatus.OK:
        bad = [f"{r.service}: {r.reason}" for r in results if not r.ok]
        raise SystemExit(f"checks failed: {bad}")
    return wall


def ratio(wall: float, slowest: float) -> str:
    return f"{wall / slowest:.3f}" if slowest > 0 else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--max-latency", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    step = args.max_latency / max(args.targets - 1, 1)
    latencies = [i * step for i in range(args.targets)]
    slowest = max(latencies)
    budget = 1.2 * slowest + 0.1

    with HealthFleet(latencies) as fleet:
        services = [
            Service(name=f"svc-{i:02d}", health_url=fleet.url(i)) for i in range(args.targets)
        ]
        checker = HttpHealthChecker(timeout_s=5.0)
        print(f"{args.targets} targets, latencies 0..{slowest:.3f} s, budget {budget:.3f} s")
        walls = []
        for number in range(1, args.rounds + 1):
            wall = asyncio.run(one_round(services, checker))
            walls.append(wall)
            verdict = "ok" if wall <= budget else "OVER BUDGET"
            print(
                f"round {number}: wall {wall:.3f} s, slowest {slowest:.3f} s, "
                f"ratio {ratio(wall, slowest)}, overhead {(wall - slowest) * 1000:.0f} ms "
                f"[{verdict}]"
            )
    worst = max(walls)
    print(
        f"worst wall {worst:.3f} s = {ratio(worst, slowest)} x slowest (target <= {budget:.3f} s)"
    )
    if worst > budget:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
