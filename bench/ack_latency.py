"""Ack latency of `/incident declare` under load, against a bare Bolt app in the same run.

Both servers run as separate processes on this machine (uvicorn + Starlette + Bolt); the
load generator sends signed slash commands with bounded concurrency. Prints p50/p99 for
each and the ratio warroom / bare. Targets: p99 ≤ 100 ms at 10 concurrent, ratio ≤ 1.5.

    python bench/ack_latency.py [--requests 300] [--concurrency 10,50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warroom_sandbox.slack_driver import SlackDriver  # noqa: E402
from warroom_sandbox.slack_emulator import SlackEmulator  # noqa: E402
from warroom_sandbox.slack_emulator.server import start_emulator  # noqa: E402

from bench.processes import free_port, wait_up  # noqa: E402
from bot.adapters import db  # noqa: E402
from bot.adapters.embedded.postgres import EmbeddedPostgres  # noqa: E402
from bot.adapters.embedded.redis import EmbeddedRedis  # noqa: E402

SECRET = "bench-secret"
TOKEN = "xoxb-bench"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))
    return ordered[k]


async def load(
    driver: SlackDriver, users: list[str], total: int, concurrency: int, tag: str
) -> list[float]:
    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with sem:
            started = time.perf_counter()
            resp = await driver.acommand(
                f"declare SEV3 bench {tag} {i}", user_id=users[i % len(users)], channel_id="CBENCH"
            )
            latencies.append((time.perf_counter() - started) * 1000)
            if resp.status_code != 200:
                raise SystemExit(f"{tag}: HTTP {resp.status_code}: {resp.text[:200]}")

    await asyncio.gather(*(one(i) for i in range(total)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", default="10,50")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]

    data = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    pg, rds = EmbeddedPostgres(data), EmbeddedRedis(data)
    rds.start()
    db.upgrade(pg.url)
    emu = SlackEmulator(bot_token=TOKEN)
    users = [emu.add_user(f"user{i}") for i in range(50)]
    emu_server = start_emulator(emu)

    wr_port, bare_port = free_port(), free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": emu_server.api_url,
        "DATABASE_URL": pg.url,
        "REDIS_URL": rds.url,
        "HOST": "127.0.0.1",
        "PORT": str(wr_port),
        "LOG_LEVEL": "WARNING",
    }
    warroom = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=ROOT, stderr=subprocess.PIPE
    )
    bare = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "bare_bolt_app.py"),
            str(bare_port),
            SECRET,
            emu_server.api_url,
        ],
        stderr=subprocess.PIPE,
    )
    try:
        wr_url, bare_url = f"http://127.0.0.1:{wr_port}", f"http://127.0.0.1:{bare_port}"
        wait_up(wr_url, warroom)
        wait_up(bare_url, bare)
        wr_driver = SlackDriver(wr_url + "/slack/events", SECRET, emulator=emu)
        bare_driver = SlackDriver(bare_url + "/slack/events", SECRET, emulator=emu)
        # Warm both (Bolt's first request calls auth.test).
        asyncio.run(load(wr_driver, users, 20, 5, "warm"))
        asyncio.run(load(bare_driver, users, 20, 5, "warm"))
        time.sleep(2)  # let the warm-up declarations finish their Slack steps
        print(f"{'concurrency':>11} {'server':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for conc in levels:
            results: dict[str, list[float]] = {"bare": [], "warroom": []}
            # Interleave rounds so both see the same machine noise.
            rounds = 3
            for r in range(rounds):
                for name, driver in (("bare", bare_driver), ("warroom", wr_driver)):
                    results[name] += asyncio.run(
                        load(driver, users, args.requests // rounds, conc, f"c{conc}r{r}")
                    )
                time.sleep(1)
            for name in ("bare", "warroom"):
                v = results[name]
                print(
                    f"{conc:>11} {name:>8} {statistics.median(v):>8.1f} "
                    f"{percentile(v, 99):>8.1f} {max(v):>8.1f}"
                )
            ratio50 = statistics.median(results["warroom"]) / statistics.median(results["bare"])
            ratio99 = percentile(results["warroom"], 99) / percentile(results["bare"], 99)
            print(f"{conc:>11} {'ratio':>8} {ratio50:>8.2f} {ratio99:>8.2f}")
    finally:
        for proc in (warroom, bare):
            proc.terminate()
            proc.wait(20)
        emu_server.stop()
        rds.stop()
        pg.stop()


if __name__ == "__main__":
    main()
