"""Timeline ingest throughput: 📌 reactions delivered through `/slack/events` as fast as a
real `warroom serve` accepts them, with Slack-style redeliveries mixed in.

Each 📌 makes warroom look the message up (conversations.history on the Slack emulator) and
store a `pinned` event before answering, so a 200 means "in Postgres". Three processes share
the machine: this load generator, the emulator (standing in for Slack) and `warroom serve`,
plus Postgres. Prints deliveries/second, the server's own CPU per event (what a replica's
core can take), and checks the table: every pinned message once, none lost, none doubled.
Target (issue 13): ≥ 1,000 events/s on 2 cores, none lost, none doubled.

    python bench/timeline_ingest.py [--events 3000] [--concurrency 32] [--incidents 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warroom_sandbox.slack_driver import (  # noqa: E402
    SendOptions,
    SlackDriver,
    reaction_event,
)
from warroom_sandbox.slack_emulator import EmulatorClient  # noqa: E402

from bench.processes import (  # noqa: E402
    SECRET,
    BenchStores,
    bench_stores,
    free_port,
    wait_up,
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def declare_incidents(driver: SlackDriver, engine: sa.Engine, user: str, count: int) -> list[str]:
    for i in range(count):
        driver.command(f"declare SEV3 bench incident {i}", user_id=user, channel_id="CBENCH")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT channel_id, card_ts FROM incidents ORDER BY number")
            ).all()
        if len(rows) == count and all(r.card_ts for r in rows):
            return [r.channel_id for r in rows]
        time.sleep(0.2)
    raise SystemExit("the bench incidents were not set up in time")


def pin(channel: str, ts: str, by: str, author: str) -> dict:
    return reaction_event(channel, ts, by, author)


def request_bytes(driver: SlackDriver, event: dict, event_id: str, retry: int | None) -> bytes:
    """The whole signed HTTP request, built before the clock starts."""
    return driver.raw_request(driver.prepare_event(event, event_id), SendOptions(retry_num=retry))


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def fire(
    targets: list[tuple[str, int]], requests: list[bytes], concurrency: int
) -> tuple[float, list[float], dict[int, int]]:
    """Keep-alive connections (spread over the replicas), each sending the next request as
    soon as the previous one is answered: the load generator stays out of the way."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(requests)

    async def worker(host: str, port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        for request in queue:
            started = time.perf_counter()
            status = await _exchange(reader, writer, request)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(*targets[i % len(targets)]) for i in range(concurrency)))
    return time.perf_counter() - started, latencies, statuses


def start_replicas(
    count: int, env: dict[str, str], profile: str | None = None
) -> list[tuple[subprocess.Popen, int]]:
    replicas = []
    for index in range(count):
        port = free_port()
        prof = ["-m", "cProfile", "-o", f"{profile}.{index}"] if profile else []
        proc = subprocess.Popen(
            [sys.executable, *prof, "-m", "bot.cli", "serve"],
            env={**env, "PORT": str(port)},
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        replicas.append((proc, port))
    for proc, port in replicas:
        wait_up(f"http://127.0.0.1:{port}/healthz", proc)
    return replicas


def build_plan(
    emu: EmulatorClient, channels: list[str], users: list[str], events: int, duplicates: float
) -> tuple[list[tuple[dict, str, int | None]], int]:
    """One 📌 per seeded message, plus redeliveries and second 📌s; shuffled."""
    rng = random.Random(7)
    plan: list[tuple[dict, str, int | None]] = []
    for i in range(events):
        channel = channels[i % len(channels)]
        author = users[rng.randrange(len(users))]
        ts = emu.add_message(channel, author, f"bench finding {i}: p99 went up")
        plan.append((pin(channel, ts, users[1], author), f"EvB{i:07d}", None))
    extra: list[tuple[dict, str, int | None]] = []
    for event, event_id, _ in rng.sample(plan, int(len(plan) * duplicates)):
        if rng.random() < 0.5:
            extra.append((event, event_id, 1))  # Slack's redelivery
        else:
            extra.append(({**event, "user": users[2]}, event_id + "x", None))  # another 📌
    plan += extra
    rng.shuffle(plan)
    return plan, len(extra)


def report(
    plan_size: int,
    extra: int,
    args: argparse.Namespace,
    elapsed: float,
    latencies: list[float],
    server_cpu: float,
    statuses: dict[int, int],
    stored: Any,
    expected: int,
) -> bool:
    ordered = sorted(latencies)
    per_event = server_cpu / plan_size * 1000
    lost, doubled = expected - stored.d, stored.n - stored.d
    print(f"deliveries      {plan_size} ({extra} redeliveries / second 📌s)")
    print(f"replicas        {args.replicas}, concurrency {args.concurrency}")
    print(f"elapsed         {elapsed:.2f} s")
    print(f"throughput      {plan_size / elapsed:.0f} events/s")
    print(
        f"latency ms      p50 {statistics.median(ordered):.1f}  "
        f"p99 {ordered[int(len(ordered) * 0.99) - 1]:.1f}  max {ordered[-1]:.1f}"
    )
    print(f"server CPU      {per_event:.2f} ms/event → {1000 / per_event:.0f} events/s per core")
    print(f"HTTP statuses   {statuses}")
    print(f"in Postgres     {stored.n} pinned rows, {stored.d} distinct (expected {expected})")
    print(f"lost {lost}, doubled {doubled}")
    return not lost and not doubled and set(statuses) == {200}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000, help="distinct 📌'd messages")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--incidents", type=int, default=20)
    parser.add_argument("--replicas", type=int, default=1, help="`warroom serve` processes")
    parser.add_argument("--profile", help="write each replica's cProfile stats to FILE.<n>")
    parser.add_argument(
        "--duplicates", type=float, default=0.1, help="share of redeliveries and second 📌s"
    )
    args = parser.parse_args()

    with bench_stores("warroom-bench-") as st:
        run(st, args)


def run(st: BenchStores, args: argparse.Namespace) -> None:
    users, engine = st.users, st.engine
    replicas: list[tuple[subprocess.Popen, int]] = []
    try:
        replicas = start_replicas(args.replicas, st.serve_env(), args.profile)
        driver = SlackDriver(
            f"http://127.0.0.1:{replicas[0][1]}/slack/events", SECRET, emulator=st.emu
        )
        channels = declare_incidents(driver, engine, users[0], args.incidents)
        plan, extra = build_plan(st.emu, channels, users, args.events, args.duplicates)
        requests = [request_bytes(driver, *p) for p in plan]
        targets = [("127.0.0.1", port) for _, port in replicas]
        # Bolt's first request in each replica calls auth.test: warm them (a missing message).
        warm = pin(channels[0], "1.000001", users[1], users[0])
        asyncio.run(
            fire(
                targets, [request_bytes(driver, warm, "EvWARM", None)] * len(targets), len(targets)
            )
        )

        cpu_before = sum(cpu_seconds(proc.pid) for proc, _ in replicas)
        elapsed, latencies, statuses = asyncio.run(fire(targets, requests, args.concurrency))
        server_cpu = sum(cpu_seconds(proc.pid) for proc, _ in replicas) - cpu_before
        with engine.connect() as conn:
            stored = conn.execute(
                sa.text(
                    "SELECT count(*) AS n, count(DISTINCT dedupe_key) AS d FROM timeline_events "
                    "WHERE kind = 'pinned'"
                )
            ).one()
        expected = args.events + 1  # + the warm-up pin
        ok = report(
            len(plan), extra, args, elapsed, latencies, server_cpu, statuses, stored, expected
        )
        if not ok:
            raise SystemExit(1)
    finally:
        for proc, _ in replicas:
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    main()
