"""Starting servers for benchmarks: a free port, and waiting until one answers HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa
from warroom_sandbox.slack_emulator import EmulatorClient

from bot.adapters import db
from bot.adapters.embedded.postgres import EmbeddedPostgres
from bot.adapters.embedded.redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
EMULATOR = """
import sys, time
from warroom_sandbox.slack_emulator import SlackEmulator
from warroom_sandbox.slack_emulator import start_emulator
start_emulator(SlackEmulator(bot_token=sys.argv[1]), port=int(sys.argv[2]))
while True:
    time.sleep(3600)
"""
SECRET = "bench-secret"
TOKEN = "xoxb-bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Up means it answers HTTP at `url` at all; a dead process stops the bench at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"server exited: {err[-2000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def yield_cpu(pg: EmbeddedPostgres, rds: EmbeddedRedis, nice: int) -> None:
    """Renice the embedded Postgres and Redis (and Postgres's backends, which inherit it from
    the postmaster): in production they run on machines of their own, so here they give the
    two cores to the servers under test and to the client, as the Slack emulator does."""
    roots = {
        int((pg.data_dir / "postmaster.pid").read_text().split()[0]),
        int(rds.pidfile.read_text().strip()),
    }
    pids = set(roots)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) in roots:
                pids.add(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    for pid in pids:
        try:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
        except OSError:  # not ours to renice: the figures say so by being noisier
            pass


@dataclass
class BenchStores:
    """Embedded Postgres and Redis and a Slack emulator in its own process (so its work is
    not charged to the load generator), with `users` people in the workspace."""

    data: Path
    pg: EmbeddedPostgres
    rds: EmbeddedRedis
    engine: sa.Engine
    emu: EmulatorClient
    users: list[str]

    def serve_env(self, **extra: str) -> dict[str, str]:
        """The environment of a `warroom serve` using these stores and this emulator."""
        return {
            **os.environ,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": self.emu.api_url,
            "DATABASE_URL": self.pg.url,
            "REDIS_URL": self.rds.url,
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            **extra,
        }


@contextmanager
def bench_stores(prefix: str, users: int = 20) -> Iterator[BenchStores]:
    data = Path(tempfile.mkdtemp(prefix=prefix))
    pg, rds = EmbeddedPostgres(data), EmbeddedRedis(data)
    rds.start()
    db.upgrade(pg.url)
    engine = sa.create_engine(pg.url)
    emu_port = free_port()
    emulator = subprocess.Popen(
        [sys.executable, "-c", EMULATOR, TOKEN, str(emu_port)], cwd=ROOT, stderr=subprocess.PIPE
    )
    try:
        emu_url = f"http://127.0.0.1:{emu_port}"
        wait_up(emu_url + "/_emulator/health", emulator)
        emu = EmulatorClient(emu_url)
        people = [emu.add_user(f"user{i}") for i in range(users)]
        yield BenchStores(data, pg, rds, engine, emu, people)
    finally:
        emulator.terminate()
        try:
            emulator.wait(20)
        except subprocess.TimeoutExpired:
            emulator.kill()
        engine.dispose()
        rds.stop()
        pg.stop()
        shutil.rmtree(data, ignore_errors=True)
