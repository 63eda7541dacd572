"""A whole warroom on one machine: embedded Postgres and Redis, the Slack emulator, the real
app on a real HTTP port, and a signed driver. The test suite and `warroom sandbox` share it, so
what the tests prove is what a person tries."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bot.adapters import db
from bot.adapters.checks.aws import AwsClients
from bot.adapters.embedded.postgres import EmbeddedPostgres
from bot.adapters.embedded.redis import EmbeddedRedis
from bot.adapters.kube.clients import KubeClients
from bot.adapters.stores import StoreURLs
from bot.bootstrap import build_services
from bot.clock import Clock
from bot.config import load_settings
from bot.http.server import build_asgi
from bot.services import Caches
from bot.slack.channels import NamedChannels
from warroom_sandbox.slack_driver import SlackDriver
from warroom_sandbox.slack_emulator import SlackEmulator
from warroom_sandbox.slack_emulator.server import serve_in_thread, start_emulator

SIGNING_SECRET = "sandbox-signing-secret"
BOT_TOKEN = "xoxb-sandbox-token"


@dataclass
class Testbed:
    __test__ = False  # not a pytest class

    data_dir: Path
    clock: Clock = field(default_factory=Clock)
    settings_overrides: dict[str, Any] = field(default_factory=dict)

    def start(self) -> Testbed:
        self.pg = EmbeddedPostgres(self.data_dir)
        self.redis_server = EmbeddedRedis(self.data_dir)
        self.redis_server.start()
        db.upgrade(self.pg.url)
        self.emulator = SlackEmulator(bot_token=BOT_TOKEN)
        self.emulator_server = start_emulator(self.emulator)
        self.people = {
            name: self.emulator.add_user(name) for name in ("alice", "bob", "carol", "dave", "erin")
        }
        self.settings = load_settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.emulator_server.api_url,
            database_url=self.pg.url,
            redis_url=self.redis_server.url,
            warroom_data_dir=self.data_dir,
            **self.settings_overrides,
        )
        self.services = build_services(
            self.settings, StoreURLs(self.pg.url, self.redis_server.url), clock=self.clock
        )
        self._catalog = self.services.catalog
        self.asgi = build_asgi(self.services, on_shutdown=self.services.close)
        self.app_server = serve_in_thread(self.asgi)
        if "public_url" not in self.settings_overrides:
            self._use_public_url(self.app_server.url)
        self.driver = SlackDriver(
            self.app_server.url + "/slack/events", SIGNING_SECRET, emulator=self.emulator
        )
        # pre-ping: tests stop and start Postgres; a pooled connection may be dead after that
        self._sync_engine = sa.create_engine(self.pg.url, pool_pre_ping=True)
        return self

    def _use_public_url(self, url: str) -> None:
        """Links warroom makes (post-mortems) point at the port it really listens on, known
        only once it serves; the link signer is made on first use, so none holds the old URL."""
        self.settings = self.settings.model_copy(update={"public_url": url})
        self.services.settings = self.settings
        self.services.link_signer = None

    def _truncate(self, attempts: int = 20) -> None:
        """Empty every table. The previous test's post-ack work and the background loops
        may still hold row locks, and TRUNCATE then deadlocks or times out: try again."""
        for attempt in range(attempts):
            try:
                with self._sync_engine.begin() as conn:
                    conn.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
                    names = sa.inspect(conn).get_table_names()
                    tables = [t for t in names if t != "alembic_version"]
                    conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
                return
            except sa.exc.OperationalError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.1)

    def _fresh_services(self) -> None:
        """What a test may have replaced or filled goes back to what start() built."""
        services = self.services
        services.settings = self.settings
        services.catalog = self._catalog
        services.kube = KubeClients(self.settings.ops.kubeconfig)
        services.aws = AwsClients()
        services.caches = Caches()
        services.channels = NamedChannels(services.slack)
        services.background_enabled = True
        services.reminders_paused = False
        services.link_signer = None
        services.pin_batchers = None

    @property
    def url(self) -> str:
        return self.app_server.url

    def stop(self) -> None:
        self.app_server.stop()
        self.emulator_server.stop()
        self._sync_engine.dispose()

    def reset(self) -> None:
        """A clean slate between tests: empty tables, a fresh emulated workspace, no caches."""
        self._truncate()
        self.clock.back_to_real_time()  # a test that moved time does not move the next one's
        self._fresh_services()
        self.emulator.reset()
        self.people = {
            name: self.emulator.add_user(name) for name in ("alice", "bob", "carol", "dave", "erin")
        }
        import redis

        redis.Redis.from_url(self.redis_server.url).flushdb()

    def rows(self, query: str, **params: Any) -> list[dict[str, Any]]:
        with self._sync_engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(query), params)]

    def wait_for(self, predicate: Any, timeout: float = 5.0, interval: float = 0.02) -> Any:
        """Work happens after the ack; wait for its effect rather than sleeping blindly."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s")
            time.sleep(interval)

    def spawn_replica(
        self, port: int, extra_env: dict[str, str] | None = None, log_file: Path | None = None
    ) -> Replica:
        """A second `warroom serve` process sharing this testbed's Postgres, Redis and Slack.

        Its log lines go to ``log_file`` (a pipe nobody reads would fill and stall the replica).
        """
        log_path = log_file or self.data_dir / f"replica-{port}.log"
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.emulator_server.api_url,
            "DATABASE_URL": self.pg.url,
            "REDIS_URL": self.redis_server.url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WARROOM_DATA_DIR": str(self.data_dir),
            **(extra_env or {}),
        }
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        replica = Replica(proc, f"http://127.0.0.1:{port}", log_path)
        replica.wait_healthy()
        return replica


@dataclass
class Replica:
    proc: subprocess.Popen
    url: str
    log_path: Path

    def wait_healthy(self, timeout: float = 90) -> None:
        """Long enough for a start on a loaded 2-core machine; an exit fails at once."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.log_path.read_text(errors="replace")
                raise RuntimeError(f"replica exited: {err[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("replica did not become healthy")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
