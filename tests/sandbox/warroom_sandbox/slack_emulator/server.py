"""Run any ASGI app with uvicorn in a daemon thread, on a real (free) port.

Tests start many servers, so start/stop must be quick and never race on ports:
the socket is bound here (port 0 -> the kernel picks) before uvicorn starts,
and the real port is known before the first request.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from types import TracebackType

    from warroom_sandbox.slack_emulator.emulator import SlackEmulator

START_TIMEOUT = 10.0


@dataclass
class RunningServer:
    host: str
    port: int
    server: uvicorn.Server = field(repr=False)
    thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (wildcard binds map to loopback)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """slack_sdk `base_url` when the app is the Slack emulator (ends with "/")."""
        return f"{self.url}/api/"

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():  # a request hanging on past graceful shutdown
            self.server.force_exit = True
            self.thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit it: without, keep-alive clients stall ~40 ms on delayed ACKs.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def serve_in_thread(
    asgi_app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    lifespan: str = "auto",
    log_level: str = "warning",
    graceful_timeout: int = 1,
) -> RunningServer:
    """Serve `asgi_app` until `.stop()`; returns once it accepts connections."""
    sock = _bind(host, port)
    real_port = sock.getsockname()[1]
    config = uvicorn.Config(
        asgi_app,
        lifespan=lifespan,  # type: ignore[arg-type]
        log_level=log_level,
        log_config=None,  # never reconfigure the host process's logging
        access_log=False,
        timeout_graceful_shutdown=graceful_timeout,
        timeout_keep_alive=5,
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as err:  # surfaced to the starting thread below
            failure.append(err)
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    thread = threading.Thread(target=run, name=f"asgi-{real_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if failure or not thread.is_alive():
            raise RuntimeError(f"ASGI server on port {real_port} failed to start") from (
                failure[0] if failure else None
            )
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"ASGI server on port {real_port} did not start in {START_TIMEOUT}s")
        time.sleep(0.005)
    return RunningServer(host=host, port=real_port, server=server, thread=thread)


def start_emulator(emu: SlackEmulator, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve the emulator and tell it its own URL (for response_urls)."""
    running = serve_in_thread(emu.asgi_app, host, port, lifespan="off")
    emu.url = running.url
    return running
