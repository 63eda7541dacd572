"""The HTTP server: Starlette on uvicorn. `POST /slack/events` is the single Request URL for
commands, interactivity and events; `/healthz` (readiness), `/livez` (liveness) and `/metrics`
serve operators.

SIGTERM drains (bot.http.shutdown): /healthz turns 503 "draining", in-flight requests and the
work Bolt runs after the ack get the grace period, then background loops stop and clients close.
SIGHUP re-reads the catalog (a broken file leaves the last good one in force)."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import background
from bot.config import ShutdownConfig
from bot.flows.loops import LOOPS
from bot.http import priority_loop
from bot.http.app import create_app
from bot.http.health import health_report, liveness_report
from bot.http.shutdown import Drain, WarroomServer, close_clients
from bot.http.slack_endpoint import SlackEndpoint
from bot.logging_setup import get_logger
from bot.services import Services
from bot.version import VERSION

log = get_logger(__name__)
ExtraRoutes = Callable[[Services], list[Route]]
# In-process servers (tests, the sandbox) stop in a test's time, not a pod's.
IN_PROCESS_GRACE = ShutdownConfig(grace_s=2.0)
SLACK_PATH = "/slack/events"


def extra_routes() -> list[ExtraRoutes]:
    from bot.web.alerts import alert_routes
    from bot.web.routes import postmortem_routes
    from bot.web.status_page import status_routes

    return [postmortem_routes, alert_routes, status_routes]


def build_asgi(
    services: Services,
    *,
    on_shutdown: Callable[[], Any] | None = None,
    shutdown: ShutdownConfig | None = None,
) -> Starlette:
    """``on_shutdown`` closes the clients: `services.close` (bounded, logged as a phase) when
    it is that, else whatever it does. ``shutdown`` bounds the drain: `warroom serve` passes
    `settings.shutdown`, in-process servers (tests, sandbox) get 2 s."""
    bolt = create_app(services)
    drain = Drain(shutdown or IN_PROCESS_GRACE)

    async def healthz(_: Request) -> Response:
        if drain.draining:
            body = {
                "status": "draining",
                "timestamp": services.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "version": VERSION,
                "checks": {},
            }
            return JSONResponse(body, status_code=503)
        status, body = await health_report(services)
        return JSONResponse(body, status_code=status)

    async def livez(_: Request) -> Response:
        return JSONResponse(liveness_report())  # even while draining: see bot.http.health

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        drain.install()
        hangup = _reload_on_sighup(services)
        tasks = background.start_all(services, LOOPS)
        try:
            yield
        finally:
            if hangup:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            try:
                await drain.finish_work()
                loops = await background.stop_all(tasks, grace_s=min(5.0, drain.remaining()))
                drain.log(phase="background_stopped", **loops, elapsed_s=drain.elapsed())
                if on_shutdown is not None:
                    if on_shutdown == services.close:
                        closed = await close_clients(services)
                    else:
                        await on_shutdown()
                        closed = ["on_shutdown"]
                    drain.log(phase="clients_closed", closed=closed, elapsed_s=drain.elapsed())
            finally:
                drain.uninstall()
                drain.log(phase="done", elapsed_s=drain.elapsed())

    slack = SlackEndpoint(bolt, drain)
    routes = [
        Route(SLACK_PATH, slack, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/livez", livez, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    for extra in extra_routes():
        routes.extend(_drained(route, drain) for route in extra(services))
    app = WarroomASGI(slack, routes=routes, lifespan=lifespan)
    app.state.bolt = bolt
    app.state.services = services
    app.state.drain = drain
    return app


class WarroomASGI(Starlette):
    """Starlette, with `POST /slack/events` handed to its endpoint before the middleware
    stack and the router: every Slack delivery comes this way, and the endpoint answers its
    own errors. Everything else (and `GET /slack/events`: 405) goes through Starlette."""

    def __init__(self, slack: SlackEndpoint, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._slack = slack

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == SLACK_PATH:
            scope["app"] = self
            await self._slack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _drained(route: Route, drain: Drain) -> Route:
    """A POST's own tasks (an alert's Slack follow-up, which may outlive its answer) get the
    shutdown grace period, as the work after a Slack ack does."""
    if "POST" not in (route.methods or ()):
        return route
    inner = route.app

    async def app(scope: Any, receive: Any, send: Any) -> None:
        with drain.request():
            await inner(scope, receive, send)

    route.app = app
    return route


def _reload_on_sighup(services: Services) -> bool:
    """`kill -HUP` re-reads the catalog at once, without waiting for the file watch. Only the
    main thread may own signals: in-process servers (tests, the sandbox) run on another
    thread and call `services.catalog.reload()` instead. True when the handler was installed."""
    if threading.current_thread() is not threading.main_thread():
        return False

    def reload() -> None:
        log.info("SIGHUP: reloading the catalog", path=str(services.catalog.path))
        services.catalog.reload()  # never raises; a bad file is logged and marked stale

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)
    except (NotImplementedError, RuntimeError, ValueError):  # no SIGHUP (Windows)
        return False
    return True


def run_uvicorn(asgi: Starlette, host: str, port: int, *, log_level: str = "warning") -> None:
    drain: Drain = asgi.state.drain
    config = uvicorn.Config(
        asgi,
        host=host,
        port=port,
        log_level=log_level.lower(),
        access_log=False,
        http="httptools",
        # set again from what is left of the grace period when SIGTERM arrives
        timeout_graceful_shutdown=int(drain.settings.grace_s),
        lifespan="on",
    )
    priority_loop.run(WarroomServer(config, drain).serve())
