"""Runs the fake API server on a real socket in a daemon thread, plus the controller ticker."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

import uvicorn

from bot.fake_cluster.app import create_app
from bot.fake_cluster.cluster import FakeCluster


@dataclass
class RunningCluster:
    cluster: FakeCluster
    host: str
    port: int
    _server: uvicorn.Server = field(repr=False)
    _threads: list[threading.Thread] = field(repr=False)
    _shutdown: threading.Event = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        self._shutdown.set()  # ends watch streams and injected hangs first
        self._server.should_exit = True
        for thread in self._threads:
            thread.join(timeout)

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
    """Binds the socket here so port 0 resolves before any client needs the URL."""
    cluster = cluster or FakeCluster()
    shutdown = threading.Event()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(cluster, shutdown),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=5,
    )
    server = uvicorn.Server(config)
    serve = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"fake-k8s-{bound_port}", daemon=True
    )

    def tick() -> None:
        # time-driven changes: pods becoming ready, restarts, progress deadlines
        while not shutdown.wait(tick_seconds):
            cluster.reconcile()

    ticker = threading.Thread(target=tick, name=f"fake-k8s-tick-{bound_port}", daemon=True)
    serve.start()
    ticker.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not serve.is_alive() or time.monotonic() > deadline:
            shutdown.set()
            raise RuntimeError("fake Kubernetes API server failed to start")
        time.sleep(0.005)
    return RunningCluster(cluster, host, bound_port, server, [serve, ticker], shutdown)
