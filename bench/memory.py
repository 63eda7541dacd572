"""Resident memory of `warroom serve`: idle, after 1,000 incidents, after 100,000 timeline
events, and idle again once the load has stopped.

One real `warroom serve` process against the Slack emulator (its own process) and the embedded
Postgres and Redis (their own processes, reported separately: the target is for warroom).
Incidents are declared with signed `/incident declare` requests (and their whole Slack set-up
awaited); timeline events are 📌 reactions (Events API, ~90 %) and `/incident note` commands
(~10 %) spread over those incidents. RSS is sampled every 0.5 s throughout (the peak) and
several times over ~20 s once each load has stopped (the settled figure, after gc).

Target: idle ≤ 150 MB, and growth that returns (or at least stops) once the load stops: the
event load runs again at a fifth of the size (``--rounds``); memory that keeps growing with
each round is a leak, a high-water mark that the next round does not raise is the allocator
keeping its arenas.

    python bench/memory.py            # 1,000 incidents, 100,000 + 20,000 events (~12 min)
    python bench/memory.py --quick    # 100 incidents, 5,000 + 1,000 events (~1 min)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warroom_sandbox.slack_driver import (  # noqa: E402
    Prepared,
    SlackDriver,
)
from warroom_sandbox.slack_emulator import EmulatorClient  # noqa: E402

from bench.processes import SECRET, BenchStores, bench_stores, free_port, wait_up  # noqa: E402
from bench.timeline_ingest import fire, pin  # noqa: E402
from bot.adapters.embedded.postgres import EmbeddedPostgres  # noqa: E402
from bot.adapters.embedded.redis import EmbeddedRedis  # noqa: E402

TARGET_IDLE_MB = 150.0
MB = 1024 * 1024
SETTLE_S = 20.0
WAVE = 25  # declarations in flight at once
CHUNK = 5_000  # timeline events signed and sent together


# -- measuring ----------------------------------------------------------------------------


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mb(pid: int) -> float:
    """RSS of the process and its children (warroom serve has none when given URLs)."""
    total = 0
    for p in tree(pid):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / MB


def pss_mb(pid: int) -> float:
    """Proportional set size of a process tree: Postgres' backends share its buffers, so their
    RSS added up would count the shared memory once per backend."""
    total = 0
    for p in tree(pid):
        try:
            total += p.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
            pass
    return total / MB


class Sampler:
    """RSS every ``interval`` seconds in a thread: the peak of each phase."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid, self.interval = pid, interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self.peak = rss_mb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Row:
    phase: str
    rss: float  # settled (median of the settling samples) or the single sample
    peak: float | None = None
    low: float | None = None
    samples: list[float] = field(default_factory=list)
    rate: str = ""
    pg: float | None = None
    redis: float | None = None


def settle(pid: int, seconds: float, every: float = 2.0) -> list[float]:
    samples = []
    deadline = time.monotonic() + seconds
    while True:
        samples.append(rss_mb(pid))
        if time.monotonic() + every > deadline:
            return samples
        time.sleep(every)


# -- the load -----------------------------------------------------------------------------


class Commands:
    """Prepared `/incident` commands without the driver's per-request look-ups of the whole
    emulator state (names fall back to ids, which warroom does not use): those grow with the
    workspace and would make the load generator, not warroom, the bottleneck."""

    def __init__(self, driver: SlackDriver, emu: EmulatorClient) -> None:
        self.emu = emu
        self.plain = SlackDriver(driver.app_url, SECRET, team_id=driver.ident.team_id)
        self.plain.ident = driver.ident

    def prepare(self, text: str, user_id: str, channel_id: str) -> Prepared:
        return self.plain.prepare_command(
            text,
            user_id=user_id,
            channel_id=channel_id,
            response_url=self.emu.new_response_url(channel_id, user_id),
            trigger_id=self.emu.issue_trigger_id(user_id),
        )


def declare_incidents(
    driver: SlackDriver, engine: sa.Engine, port: int, users: list[str], count: int, offset: int
) -> tuple[float, list[str]]:
    """``count`` declarations (distinct titles and reporters) in waves of ``WAVE``, each wave's
    Slack set-up awaited before the next: a thousand set-ups at once would only measure the
    database pool's queue (see the report of issue 7)."""
    commands = Commands(driver, driver.emulator)  # type: ignore[arg-type]
    started = time.perf_counter()
    for first in range(0, count, WAVE):
        wave = range(first, min(count, first + WAVE))
        requests = [
            driver.raw_request(
                commands.prepare(
                    f"declare SEV3 memory bench incident {offset + i}",
                    user_id=users[i % len(users)],
                    channel_id="CBENCH",
                ),
            )
            for i in wave
        ]
        _, _, statuses = asyncio.run(fire([("127.0.0.1", port)], requests, 8))
        if set(statuses) != {200}:
            raise SystemExit(f"declarations answered {statuses}")
        channels = wait_set_up(engine, offset + wave.stop)
    return time.perf_counter() - started, channels


def wait_set_up(engine: sa.Engine, expected: int) -> list[str]:
    deadline = time.monotonic() + float(os.environ.get("BENCH_SETUP_TIMEOUT", 120))
    rows: list = []
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT channel_id, setup FROM incidents WHERE title LIKE 'memory bench%' "
                    "ORDER BY number"
                )
            ).all()
        if len(rows) >= expected and all(len(r.setup.get("done", [])) == 6 for r in rows):
            return [r.channel_id for r in rows]
        failed = [r.setup for r in rows if r.setup.get("failed")]
        if failed:
            raise SystemExit(f"{len(failed)} declarations failed a step, e.g. {failed[0]}")
        time.sleep(0.2)
    done = sum(len(r.setup.get("done", [])) == 6 for r in rows)
    raise SystemExit(f"the incidents were not set up in time: {len(rows)} stored, {done} complete")


def timeline_load(
    driver: SlackDriver,
    emu: EmulatorClient,
    port: int,
    channels: list[str],
    users: list[str],
    count: int,
    round_no: int,
) -> tuple[float, dict[int, int]]:
    """``count`` events: 9 in 10 are 📌 on a message (1 in 20 of them seeded in the emulator
    with text, the others pinned by ts only: warroom stores those as `missing`), 1 in 10 is a
    `/incident note`."""
    commands = Commands(driver, emu)
    base = 1_700_000_000 + round_no * 10_000_000
    elapsed, statuses = 0.0, {}
    # signed just before sending, a chunk at a time: Slack signatures expire after 5 minutes
    for first in range(0, count, CHUNK):
        requests: list[bytes] = []
        for i in range(first, min(count, first + CHUNK)):
            channel = channels[i % len(channels)]
            author = users[i % len(users)]
            if i % 10 == 9:
                prepared = commands.prepare(
                    f"note round {round_no} finding {i}: the cache hit ratio dropped to 40 %",
                    user_id=author,
                    channel_id=channel,
                )
            else:
                if i % 20 == 0:
                    ts = emu.add_message(channel, author, f"finding {i}: p99 went up after deploy")
                else:
                    ts = f"{base + i}.{i % 1_000_000:06d}"
                event = pin(channel, ts, users[(i + 1) % len(users)], author)
                prepared = driver.prepare_event(event, f"EvM{round_no}x{i:07d}")
            requests.append(driver.raw_request(prepared))
        started = time.perf_counter()
        _, _, got = asyncio.run(fire([("127.0.0.1", port)], requests, 32))
        elapsed += time.perf_counter() - started
        for status, n in got.items():
            statuses[status] = statuses.get(status, 0) + n
    return elapsed, statuses


# -- the run ------------------------------------------------------------------------------


def store_pids(pg: EmbeddedPostgres, rds: EmbeddedRedis) -> tuple[int | None, int | None]:
    def first_int(path: Path) -> int | None:
        try:
            return int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    return first_int(pg.data_dir / "postmaster.pid"), first_int(rds.pidfile)


def print_table(rows: list[Row], ok: bool, verdict: str) -> None:
    print()
    print(
        f"{'phase':<34} {'warroom RSS MB':>14} {'peak':>8} {'min':>8} "
        f"{'Postgres PSS':>13} {'Redis RSS':>10}  load"
    )
    for r in rows:
        cells = [
            f"{r.phase:<34}",
            f"{r.rss:>14.1f}",
            f"{r.peak:>8.1f}" if r.peak is not None else f"{'':>8}",
            f"{r.low:>8.1f}" if r.low is not None else f"{'':>8}",
            f"{r.pg:>13.1f}" if r.pg is not None else f"{'':>13}",
            f"{r.redis:>10.1f}" if r.redis is not None else f"{'':>10}",
        ]
        print(" ".join(cells) + ("  " + r.rate if r.rate else ""))
    print()
    print(verdict)
    print(("PASS" if ok else "FAIL") + f": idle ≤ {TARGET_IDLE_MB:.0f} MB and no lasting growth")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 incidents, 5,000 + 1,000 events")
    parser.add_argument("--incidents", type=int, default=None)
    parser.add_argument("--events", type=int, default=None, help="timeline events per round")
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds of the event load (after the first: 1/5)"
    )
    parser.add_argument("--settle", type=float, default=SETTLE_S, help="seconds of idle sampling")
    args = parser.parse_args()
    incidents = args.incidents or (100 if args.quick else 1000)
    events = args.events or (5_000 if args.quick else 100_000)
    settle_s = min(args.settle, 10.0) if args.quick else args.settle

    with bench_stores("warroom-memory-") as st:
        measure(st, args, incidents, events, settle_s)


def measure(
    st: BenchStores, args: argparse.Namespace, incidents: int, events: int, settle_s: float
) -> None:
    pg, rds, engine, emu, users = st.pg, st.rds, st.engine, st.emu, st.users
    serve: subprocess.Popen | None = None
    log_path = st.data / "serve.log"
    rows: list[Row] = []
    try:
        port = free_port()
        env = st.serve_env(PORT=str(port), WARROOM_DATA_DIR=str(st.data))
        with open(log_path, "wb") as log:
            serve = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_up(f"http://127.0.0.1:{port}/healthz", serve)
        pid = serve.pid
        pg_pid, redis_pid = store_pids(pg, rds)

        def stores() -> tuple[float | None, float | None]:
            return (
                pss_mb(pg_pid) if pg_pid else None,
                rss_mb(redis_pid) if redis_pid else None,
            )

        def idle_row(phase: str, seconds: float) -> Row:
            samples = settle(pid, seconds)
            return Row(
                phase,
                statistics.median(samples[len(samples) // 2 :]),
                peak=max(samples),
                low=min(samples),
                samples=samples,
                pg=stores()[0],
                redis=stores()[1],
            )

        driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", SECRET, emulator=emu)
        print(f"warroom serve pid {pid}, Postgres {pg_pid}, Redis {redis_pid}", flush=True)
        rows.append(idle_row("idle (started)", min(5.0, settle_s)))
        # the first request of each kind imports and caches (Bolt's auth.test, Block Kit)
        declare_incidents(driver, engine, port, users, 1, 0)
        rows.append(idle_row("idle (after one declaration)", settle_s))
        print(f"  idle {rows[-1].rss:.1f} MB", flush=True)

        with Sampler(pid) as s:
            took, channels = declare_incidents(driver, engine, port, users, incidents, 1)
        rows.append(
            Row(
                f"after {incidents:,} incidents",
                rss_mb(pid),
                peak=s.peak,
                rate=f"{incidents / took:.0f} declarations/s (set-up included)",
                pg=stores()[0],
                redis=stores()[1],
            )
        )
        print(f"  {rows[-1].phase}: {rows[-1].rss:.1f} MB ({rows[-1].rate})", flush=True)
        rows.append(idle_row(f"  settled ({settle_s:.0f} s)", settle_s))

        for round_no in range(1, args.rounds + 1):
            size = events if round_no == 1 else max(1, events // 5)
            with Sampler(pid) as s:
                took, statuses = timeline_load(driver, emu, port, channels, users, size, round_no)
            if set(statuses) != {200}:
                raise SystemExit(f"timeline events answered {statuses}")
            rows.append(
                Row(
                    f"after {size:,} more timeline events"
                    if round_no > 1
                    else f"after {size:,} timeline events",
                    rss_mb(pid),
                    peak=s.peak,
                    rate=f"{size / took:.0f} events/s",
                    pg=stores()[0],
                    redis=stores()[1],
                )
            )
            print(f"  {rows[-1].phase}: {rows[-1].rss:.1f} MB ({rows[-1].rate})", flush=True)
            rows.append(idle_row(f"  settled ({settle_s:.0f} s)", settle_s))

        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT count(*) FROM timeline_events")).scalar()
        idle = rows[1].rss
        settled = [r for r in rows if r.phase.strip().startswith("settled")]
        final = settled[-1].rss
        # growth that stays: the last settled figure against the one before the last round
        before_last = settled[-2].rss if len(settled) >= 2 else idle
        last_round_growth = final - before_last
        lasting = final - idle
        ok = idle <= TARGET_IDLE_MB and last_round_growth <= max(10.0, 0.05 * before_last)
        verdict = (
            f"timeline_events in Postgres: {stored:,}\n"
            f"idle {idle:.1f} MB; settled after all load {final:.1f} MB "
            f"(+{lasting:.1f} MB over idle); the last round of events added "
            f"{last_round_growth:+.1f} MB that stayed"
        )
        print_table(rows, ok, verdict)
        if not ok:
            raise SystemExit(1)
    finally:
        if serve is not None:
            serve.terminate()
            try:
                serve.wait(30)
            except subprocess.TimeoutExpired:
                serve.kill()


if __name__ == "__main__":
    main()
