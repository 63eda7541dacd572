"""Two `warroom serve` processes behind one signing secret, sharing their own embedded Postgres
and Redis, the Slack emulator and a fake cluster: what the reliability suite and
`bench/reliability_report.py` run their scenarios against.

Separate from the session testbed because scenarios stop Postgres and Redis.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from warroom_sandbox.fake_cluster import FakeCluster, start_fake_cluster, write_kubeconfig
from warroom_sandbox.fake_cluster.server import RunningCluster
from warroom_sandbox.slack_driver import SlackDriver
from warroom_sandbox.slack_emulator import SlackEmulator
from warroom_sandbox.testbed import SIGNING_SECRET, Replica, Testbed

NS = "prod"
SLACK_TIMEOUT_S = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class World:
    """``bed`` owns the stores and the emulator (and one in-process app, unused here);
    ``replicas`` are the two `warroom serve` processes; ``drivers[i]`` signs requests for
    replica i."""

    bed: Testbed
    replicas: list[Replica]
    drivers: list[SlackDriver]
    cluster: FakeCluster
    running_cluster: RunningCluster
    kubeconfig: Path
    catalog: Path
    env: dict[str, str] = field(default_factory=dict)  # what the replicas were started with

    @property
    def log_files(self) -> list[Path]:
        return [r.log_path for r in self.replicas]

    def reset(self) -> None:
        # A rollout still being followed would record its outcome into the next test's
        # incident of the same number: let it finish first.
        try:
            self.bed.wait_for(
                lambda: (
                    not self.bed.rows(
                        "SELECT 1 FROM rollout_follows WHERE finished_at IS NULL LIMIT 1"
                    )
                ),
                timeout=60,
                interval=0.2,
            )
        except AssertionError:
            pass  # truncating below ends it anyway
        self.bed.reset()
        self.emulator.clear_faults()

    def restart_replica(self, index: int) -> Replica:
        """Stop replica ``index`` (SIGTERM) and start a new one on the same port."""
        old = self.replicas[index]
        old.stop()
        port = int(old.url.rsplit(":", 1)[1])
        new = self.bed.spawn_replica(port, self.env, log_file=old.log_path)
        self.replicas[index] = new
        return new

    @property
    def emulator(self) -> SlackEmulator:
        return self.bed.emulator

    @property
    def people(self) -> dict[str, str]:
        return self.bed.people


def _write_catalog(path: Path, health_url: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "services": [
                    {
                        "name": "api",
                        "health_url": health_url,
                        "kubernetes": {"namespace": NS, "deployment": "api"},
                    },
                    {
                        "name": "web",
                        "health_url": health_url,
                        "kubernetes": {"namespace": NS, "deployment": "web"},
                    },
                ]
            }
        )
    )
    return path


@contextmanager
def open_world(replicas: int = 2, extra_env: dict[str, str] | None = None) -> Iterator[World]:
    data_dir = Path(tempfile.mkdtemp(prefix="warroom-reliability-"))
    bed = Testbed(data_dir).start()
    cluster = FakeCluster()
    cluster.rollout_delay = 0.3
    running = start_fake_cluster(cluster)
    kubeconfig = write_kubeconfig(data_dir / "kubeconfig", running.url, namespace=NS)
    catalog = _write_catalog(data_dir / "catalog.yml", bed.url + "/healthz")
    env = {
        "KUBECONFIG": str(kubeconfig),
        "CATALOG_FILE": str(catalog),
        "SLACK_TIMEOUT_S": str(SLACK_TIMEOUT_S),  # a timeout trial then waits 4 s, not 10
        **(extra_env or {}),
    }
    started: list[Replica] = []
    try:
        for i in range(replicas):
            started.append(
                bed.spawn_replica(free_port(), env, log_file=data_dir / f"replica-{i}.log")
            )
        drivers = [
            SlackDriver(r.url + "/slack/events", SIGNING_SECRET, emulator=bed.emulator)
            for r in started
        ]
        yield World(bed, started, drivers, cluster, running, kubeconfig, catalog, env)
    finally:
        for r in started:
            r.stop()
        running.stop()
        bed.stop()
        bed.redis_server.stop()
        bed.pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
