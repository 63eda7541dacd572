"""Post-mortem generation time for 1,000, 10,000 and 100,000 timeline events.

Starts its own embedded Postgres in a temporary directory, loads one incident per size, and
times building the document from Postgres (the target: 10,000 events ≤ 300 ms, growing
linearly), then Markdown, JSON and HTML rendering. With Chromium installed it also times the
10,000-event page in the browser (target ≤ 1 s) and saves a screenshot under artifacts/.

    python bench/postmortem.py [--sizes 1000,10000,100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.applications import Starlette  # noqa: E402

from bot.flows.postmortem.links import link_signer  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.web.postmortem_page import render_postmortem  # noqa: E402
from bot.web.routes import postmortem_routes  # noqa: E402
from incident import postmortem  # noqa: E402
from incident.postmortem import PostMortem  # noqa: E402
from incident.postmortem_render import to_dict, to_markdown  # noqa: E402
from tests.e2e.postmortem_support import (  # noqa: E402
    LoopThread,
    big_incident,
    make_services,
    serve,
    start_postgres,
)

TARGET_10K_MS = 300
TARGET_BROWSER_MS = 1000
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """(best ms, median ms, last result)."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return min(times), statistics.median(times), result


def bench_sizes(loop: LoopThread, services: Services, sizes: list[int], runs: int) -> dict:
    out: dict[int, dict[str, Any]] = {}
    now = datetime.now(UTC)
    for size in sizes:
        started = time.perf_counter()

        async def load(n: int = size) -> int:
            async with services.transaction() as session:
                return await big_incident(session, n, key=f"bench-{n}")

        number = loop.run(load(), timeout=600)
        load_s = time.perf_counter() - started

        async def build(n: int = number) -> PostMortem:
            async with services.sessions() as session:
                pm = await postmortem.build(session, n, now=now, policy=services.policy)
            assert pm is not None
            return pm

        n_runs = runs if size <= 10_000 else max(2, runs // 2)
        best, median, pm = timed(lambda b=build: loop.run(b()), n_runs)
        md = timed(lambda p=pm: to_markdown(p), n_runs)
        js = timed(lambda p=pm: json.dumps(to_dict(p)), n_runs)
        html = timed(lambda p=pm: render_postmortem(p, {}, token="t", show_list_link=False), n_runs)
        out[size] = {
            "number": number,
            "load_s": load_s,
            "build": (best, median),
            "markdown": md[:2],
            "json": js[:2],
            "html": html[:2],
            "html_bytes": len(html[2]),
        }
        print(
            f"{size:>7,} events: build {best:7.1f} ms (median {median:7.1f})"
            f" · markdown {md[0]:6.1f} ms · json {js[0]:6.1f} ms · html {html[0]:6.1f} ms"
            f" ({len(html[2]) / 1e6:.1f} MB)   [loaded in {load_s:.1f} s]",
            flush=True,
        )
    return out


def print_growth(results: dict[int, dict[str, Any]]) -> None:
    sizes = sorted(results)
    for small, big in pairwise(sizes):
        a, b = results[small]["build"][0], results[big]["build"][0]
        per_a, per_b = a / small * 1000, b / big * 1000
        print(
            f"growth {small:,} → {big:,} (×{big / small:.0f} events): build ×{b / a:.1f}"
            f" ({per_a:.1f} → {per_b:.1f} µs/event)"
        )
    if 10_000 in results:
        best = results[10_000]["build"][0]
        verdict = "OK" if best <= TARGET_10K_MS else "MISSED"
        print(f"target 10,000 events ≤ {TARGET_10K_MS} ms: {best:.1f} ms — {verdict}")


def browser_time(loop: LoopThread, services: Services, number: int) -> None:
    if CHROMIUM is None:
        print("browser: chromium not installed, skipped")
        return
    served = loop.run(serve(Starlette(routes=postmortem_routes(services))))
    try:
        token = link_signer(services).token(str(number), datetime.now(UTC) + timedelta(hours=1))
        url = f"{served.url}/postmortems/{number}?t={token}"
        (ROOT / "artifacts").mkdir(exist_ok=True)
        shot = ROOT / "artifacts" / "postmortem-10k.png"
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            _browser_cli(url, shot)
            return
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(url, wait_until="load")  # warm-up: names, connections, caches
            walls = []
            for _ in range(3):
                started = time.perf_counter()
                page.goto(url, wait_until="load")
                walls.append((time.perf_counter() - started) * 1000)
            timing = page.evaluate(
                "() => { const t = performance.getEntriesByType('navigation')[0];"
                " return {ttfb: t.responseStart - t.requestStart,"
                " download: t.responseEnd - t.responseStart,"
                " render: t.loadEventEnd - t.responseEnd, total: t.loadEventEnd}; }"
            )
            page.screenshot(path=str(shot))
            browser.close()
        best = min(walls)
        verdict = "OK" if best <= TARGET_BROWSER_MS else "MISSED"
        print(
            f"browser, 10,000-event page: load {best:.0f} ms wall (best of 3) — server "
            f"{timing['ttfb']:.0f} ms, download {timing['download']:.0f} ms, parse+layout "
            f"{timing['render']:.0f} ms; target ≤ {TARGET_BROWSER_MS} ms: {verdict}"
        )
        print(f"screenshot: {shot.relative_to(ROOT)}")
    finally:
        loop.run(served.stop())


def _browser_cli(url: str, shot: Path) -> None:
    """Without Playwright: the whole `chromium --dump-dom` run, minus an empty page's."""
    assert CHROMIUM is not None

    def run(target: str) -> float:
        started = time.perf_counter()
        subprocess.run(
            [CHROMIUM, *CHROMIUM_ARGS, "--dump-dom", target],
            capture_output=True,
            timeout=120,
            check=True,
        )
        return (time.perf_counter() - started) * 1000

    empty = min(run("data:text/html,ok") for _ in range(2))
    page = min(run(url) for _ in range(2))
    subprocess.run(
        [CHROMIUM, *CHROMIUM_ARGS, f"--screenshot={shot}", "--window-size=1200,900", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    print(
        f"browser (chromium CLI), 10,000-event page: {page - empty:.0f} ms beyond browser "
        f"start-up ({page:.0f} ms total); target ≤ {TARGET_BROWSER_MS} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="warroom-bench-pm-"))
    print(f"embedded Postgres in {tmp} …", flush=True)
    pg = start_postgres(tmp)
    loop = LoopThread()
    services = make_services(pg.url, settings={"warroom_web_secret": "bench"})
    try:
        results = bench_sizes(loop, services, sizes, args.runs)
        print_growth(results)
        if 10_000 in results:
            browser_time(loop, services, results[10_000]["number"])
    finally:
        loop.run(services.engine.dispose())
        loop.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
