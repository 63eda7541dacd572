"""Runs the fake API server on a real socket in a daemon thread, plus the controller ticker."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import TracebackType

from warroom_sandbox.fake_cluster.app import create_app
from warroom_sandbox.fake_cluster.cluster import FakeCluster
from warroom_sandbox.slack_emulator.server import RunningServer, serve_in_thread


@dataclass
class RunningCluster:
    cluster: FakeCluster
    host: str
    port: int
    _server: RunningServer = field(repr=False)
    _ticker: threading.Thread = field(repr=False)
    _shutdown: threading.Event = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        self._shutdown.set()  # ends watch streams and injected hangs first
        self._server.stop(timeout)
        self._ticker.join(timeout)

    def __enter__(self) -> RunningCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_fake_cluster(
    cluster: FakeCluster | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tick_seconds: float = 0.05,
) -> RunningCluster:
    """Returns once the server accepts connections, with port 0 resolved to the real one."""
    cluster = cluster or FakeCluster()
    shutdown = threading.Event()
    server = serve_in_thread(create_app(cluster, shutdown), host, port, lifespan="off")

    def tick() -> None:
        # time-driven changes: pods becoming ready, restarts, progress deadlines
        while not shutdown.wait(tick_seconds):
            cluster.reconcile()

    ticker = threading.Thread(target=tick, name=f"fake-k8s-tick-{server.port}", daemon=True)
    ticker.start()
    return RunningCluster(cluster, host, server.port, server, ticker, shutdown)
