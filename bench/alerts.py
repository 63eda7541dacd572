"""Alert intake under load: 1,000 alerts in 100 Alertmanager groups, delivered in Alertmanager's
webhook format (version 4) to two `warroom serve` replicas sharing one Postgres and Redis.

Each group is one catalog service and goes through what Alertmanager sends for it: the first
alerts after group_wait, the whole group after group_interval, a repeat (repeat_interval) for
a share of the groups, and the whole group resolved. Like two Alertmanager replicas (they do
not deduplicate between them), every notification goes to BOTH warroom replicas at once.
A group's notifications go in order; the groups run concurrently.

Expected: one incident per group (100 by default), one timeline entry per alert and state
(1,000 firing + 1,000 resolved), one `alerts` row per alert, 0 duplicates, only HTTP 200.

    python bench/alerts.py [--groups 100] [--per-group 10] [--resend 0.3] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import BenchStores, bench_stores, free_port, wait_up  # noqa: E402

ALERTS_TOKEN = "bench-alerts-token"
NAMES = ["HighErrorRate", "LatencyHigh", "PodCrashLooping", "SaturationHigh", "ErrorBudgetBurn"]


def service(g: int) -> str:
    return f"svc-{g:03d}"


def write_catalog(path: Path, groups: int) -> None:
    services = [
        {"name": service(g), "health_url": f"http://127.0.0.1:9/{service(g)}"}
        for g in range(groups)
    ]
    rules = [{"match": {"severity": "critical"}, "declare": "SEV2"}]
    path.write_text(yaml.safe_dump({"services": services, "alerts": {"rules": rules}}))


def go_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # Go writes nanoseconds


def group_alerts(g: int, per_group: int, t0: datetime) -> list[dict[str, Any]]:
    return [
        {
            "status": "firing",
            "labels": {
                "alertname": NAMES[i % len(NAMES)],
                "service": service(g),
                "severity": "critical",
                "pod": f"{service(g)}-{i}",
            },
            "annotations": {"summary": f"{NAMES[i % len(NAMES)]} on {service(g)} pod {i}"},
            "startsAt": go_time(t0 + timedelta(seconds=i)),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
            "fingerprint": f"{g:04x}{i:04x}deadbeef",
        }
        for i in range(per_group)
    ]


def notification(g: int, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "version": "4",
        "groupKey": f'{{}}:{{service="{service(g)}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "warroom",
        "groupLabels": {"service": service(g)},
        "commonLabels": {"service": service(g), "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }


def plan_group(g: int, per_group: int, resend: bool, t0: datetime) -> list[dict[str, Any]]:
    """What Alertmanager sends for one group, in order."""
    alerts = group_alerts(g, per_group, t0)
    ended = go_time(t0 + timedelta(minutes=10))
    resolved = [{**a, "status": "resolved", "endsAt": ended} for a in alerts]
    sends = [notification(g, alerts[: max(1, per_group // 3)]), notification(g, alerts)]
    if resend:
        sends.append(notification(g, alerts))  # repeat_interval
    sends.append(notification(g, resolved))
    if resend:
        sends.append(notification(g, resolved))  # a retry after a lost answer
    return sends


async def run_load(
    urls: list[str], plans: list[list[dict[str, Any]]], concurrency: int
) -> tuple[float, dict[int, int], int]:
    statuses: dict[int, int] = {}
    sent = 0
    limit = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {ALERTS_TOKEN}"}

    async with httpx.AsyncClient(
        headers=headers, timeout=60, limits=httpx.Limits(max_connections=4 * concurrency)
    ) as client:

        async def post(url: str, body: dict[str, Any]) -> None:
            nonlocal sent
            sent += 1
            for attempt in range(10):  # Alertmanager retries a 5xx (with backoff)
                resp = await client.post(url + "/alerts/alertmanager", json=body)
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
                if resp.status_code < 500:
                    return
                await asyncio.sleep(0.5 * (attempt + 1))

        async def group(sends: list[dict[str, Any]]) -> None:
            async with limit:
                for body in sends:  # Alertmanager sends a group's notifications in order
                    await asyncio.gather(*(post(u, body) for u in urls))  # both replicas

        started = time.perf_counter()
        await asyncio.gather(*(group(p) for p in plans))
        return time.perf_counter() - started, statuses, sent


def count(engine: sa.Engine, query: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(query)).scalar() or 0)


def settle(engine: sa.Engine, groups: int, timeout: float = 120) -> float:
    """Seconds until every declared incident has its card posted in Slack."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        done = count(engine, "SELECT count(*) FROM incidents WHERE card_ts IS NOT NULL")
        if done >= groups:
            break
        time.sleep(0.2)
    return time.perf_counter() - started


def start_replicas(
    st: BenchStores, catalog: Path, count_: int, logs: Path | None = None
) -> tuple[list[subprocess.Popen], list[str]]:
    env = st.serve_env(CATALOG_FILE=str(catalog), WARROOM_ALERTS_TOKEN=ALERTS_TOKEN)
    if logs:
        env["LOG_LEVEL"] = "DEBUG"
    procs, urls = [], []
    for i in range(count_):
        port = free_port()
        out = (logs / f"replica-{i}.log").open("wb") if logs else subprocess.DEVNULL
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                env={**env, "PORT": str(port)},
                cwd=ROOT,
                stdout=out,
                stderr=out,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    for proc, url in zip(procs, urls, strict=True):
        wait_up(url + "/healthz", proc)
    return procs, urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=100, help="Alertmanager groups (services)")
    parser.add_argument("--per-group", type=int, default=10, help="alerts in each group")
    parser.add_argument("--resend", type=float, default=0.3, help="share of groups resent")
    parser.add_argument("--concurrency", type=int, default=20, help="groups in flight at once")
    parser.add_argument("--replicas", type=int, default=2, help="`warroom serve` processes")
    parser.add_argument("--logs", type=Path, help="a folder for the replicas' logs")
    args = parser.parse_args()

    rng = random.Random(14)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    plans = [
        plan_group(g, args.per_group, rng.random() < args.resend, t0) for g in range(args.groups)
    ]
    alerts = args.groups * args.per_group
    with bench_stores("warroom-bench-alerts-") as st:
        catalog = st.data / "catalog.yml"
        write_catalog(catalog, args.groups)
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
        procs, urls = start_replicas(st, catalog, args.replicas, args.logs)
        try:
            elapsed, statuses, sent = asyncio.run(run_load(urls, plans, args.concurrency))
            cards = settle(st.engine, args.groups)
            report(st.engine, args, alerts, elapsed, cards, statuses, sent)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def report(
    engine: sa.Engine,
    args: argparse.Namespace,
    alerts: int,
    elapsed: float,
    cards: float,
    statuses: dict[int, int],
    sent: int,
) -> None:
    """`sent`: notifications (each counted once however many times a 503 made it retry)."""
    incidents = count(engine, "SELECT count(*) FROM incidents")
    services = count(engine, "SELECT count(DISTINCT service) FROM incidents")
    entries = count(engine, "SELECT count(*) FROM timeline_events WHERE kind = 'alert'")
    distinct = count(
        engine,
        "SELECT count(*) FROM (SELECT DISTINCT incident_number, data->>'fingerprint',"
        " data->>'starts_at', data->>'status' FROM timeline_events WHERE kind = 'alert') d",
    )
    rows = count(engine, "SELECT count(*) FROM alerts")
    duplicates = (incidents - services) + (entries - distinct) + max(0, rows - alerts)
    table = [
        ("alerts / groups", f"{alerts} in {args.groups} groups, {args.replicas} replicas"),
        ("notifications sent", f"{sent} (each to every replica; resends included)"),
        ("time to process", f"{elapsed:.2f} s (+{cards:.2f} s until every card is posted)"),
        ("notifications/s", f"{sent / elapsed:.0f}"),
        ("alerts/s", f"{alerts * 2 / elapsed:.0f} (firing + resolved)"),
        ("HTTP answers", f"{statuses} (a 503 is retried, as Alertmanager does)"),
        ("incidents declared", f"{incidents} (expected {args.groups})"),
        ("timeline alert entries", f"{entries} (expected {alerts * 2})"),
        ("alerts rows", f"{rows} (expected {alerts})"),
        ("duplicates", f"{duplicates} (must be 0)"),
    ]
    width = max(len(k) for k, _ in table)
    for key, value in table:
        print(f"{key:<{width}}  {value}")
    ok = duplicates == 0 and incidents == args.groups and entries == alerts * 2
    if not ok or statuses.get(200, 0) != sent:
        raise SystemExit("FAILED")


if __name__ == "__main__":
    main()
